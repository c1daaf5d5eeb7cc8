from django import template

from techtransfer.portal import display

register = template.Library()


@register.filter
def wan(value) -> str:
    """Yuan shown as 万元: ``{{ budget|wan }}``."""
    return display.wan(value)


@register.filter
def money(value) -> str:
    return display.money(value)


@register.filter
def width_class(percent) -> str:
    """A bar's width as one of the ``w-0`` … ``w-100`` classes of platform.css (no inline styles under the CSP)."""
    try:
        value = int(percent)
    except (TypeError, ValueError):
        value = 0
    return f"w-{max(0, min(100, value))}"
