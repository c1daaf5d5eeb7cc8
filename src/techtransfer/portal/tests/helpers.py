"""Read what a person sees on a page: headings, table titles, figures, form options."""

import html
import re

TAG = re.compile(r"<[^>]+>")


def text(fragment: str) -> str:
    # Only ASCII white space: the ideographic space (U+3000) indents tree options on purpose.
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(TAG.sub(" ", fragment))).strip(" \t\r\n")


def page(response) -> str:
    return response.content.decode()


def headings(response, level: int = 1) -> list[str]:
    return [text(h) for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", page(response), re.S)]


def listed_titles(response) -> list[str]:
    """The record titles in a list page's results table, top to bottom."""
    return [text(t) for t in re.findall(r'<td class="title"><a [^>]*>(.*?)</a>', page(response), re.S)]


def figure(response, label: str) -> str:
    """The number shown above ``label`` in a key-figure box."""
    match = re.search(
        r'<span class="figure-value">([^<]*)</span><span class="figure-label">' + re.escape(label) + "</span>",
        page(response),
    )
    assert match, f"no figure labelled {label!r}"
    return match.group(1)


def options(response, name: str) -> list[str]:
    """The visible labels of the ``<select name=...>`` options."""
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page(response), re.S)
    assert match, f"no select {name!r}"
    return [text(o) for o in re.findall(r"<option[^>]*>(.*?)</option>", match.group(1), re.S)]


def field_value(response, label: str) -> str:
    """The value beside ``label`` in a detail page's field list."""
    match = re.search(r"<dt>" + re.escape(label) + r"</dt>\s*<dd[^>]*>(.*?)</dd>", page(response), re.S)
    assert match, f"no field {label!r}"
    return text(match.group(1))


def timeline(response) -> list[str]:
    block = re.search(r'<ol class="timeline">(.*?)</ol>', page(response), re.S)
    return [text(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)] if block else []


def messages(response) -> list[str]:
    return [text(m) for m in re.findall(r'<li class="message[^"]*">(.*?)</li>', page(response), re.S)]


def field_errors(response, name: str) -> list[str]:
    """Error messages shown under the form field ``name``."""
    match = re.search(
        rf'<div class="form-row has-error">\s*<label for="id_{name}">.*?<ul class="errorlist">(.*?)</ul>',
        page(response),
        re.S,
    )
    return [text(e) for e in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)] if match else []
