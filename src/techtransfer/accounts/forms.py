from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's login form (it calls ``authenticate(request=...)``, which django-axes watches), in Chinese."""

    username = forms.CharField(
        label=_("账号"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("账号或密码不正确（区分大小写）。连续 5 次输入错误，账号将被锁定 15 分钟。"),
        "inactive": _("该账号已停用，请联系平台管理员。"),
    }
