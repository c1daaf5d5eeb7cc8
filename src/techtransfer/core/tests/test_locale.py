"""The UI is Simplified Chinese unless the user picked English with the language switch."""

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _login_link(response) -> str:
    html = response.content.decode()
    return "Log in" if ">Log in<" in html else ("登录" if ">登录<" in html else "")


def test_a_browser_set_to_english_still_gets_chinese(client):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert _login_link(response) == "登录"


def test_english_when_the_user_picked_it(client):
    response = client.post(reverse("portal:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response["Content-Language"] == "en"
    assert _login_link(response) == "Log in"


def test_an_unknown_language_cookie_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "zh-hans"
    assert _login_link(response) == "登录"
