"""Log in, log out and change the password: Django's own views with our templates and forms.

Lockout after repeated failures is django-axes' (``AxesMiddleware`` renders ``accounts/locked.html``);
logins and failed logins are written to the audit log by ``auth_events``.
"""

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the header's 退出 button is a form."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
