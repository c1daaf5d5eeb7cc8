"""Logging in and out through the pages: lockout, idle timeout, password rules, audit events."""

import re
import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation

from techtransfer.audit.models import Event
from techtransfer.core.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def h1(response) -> list[str]:
    return re.findall(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S)


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_page_is_in_chinese(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert h1(response) == ["登录"]
    html = response.content.decode()
    assert '<label for="id_username">账号</label>' in html
    assert '<label for="id_password">密码</label>' in html


def test_login_goes_to_the_workspace_and_is_audited(client, people):
    response = login(client, "acme_member", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200
    event = Event.objects.get(action="login")
    assert (event.actor_name, event.target_repr, event.ip_address) == (
        "acme_member",
        str(people.acme_member),
        "127.0.0.1",
    )


def test_failed_login_is_refused_in_chinese_and_audited(client, people):
    response = login(client, "acme_member", "wrong-password")
    assert response.status_code == 200
    assert "账号或密码不正确（区分大小写）。连续 5 次输入错误，账号将被锁定 15 分钟。" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = Event.objects.get(action="login_failed")
    assert (event.actor_name, event.summary, event.ip_address) == ("", "acme_member", "127.0.0.1")


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(client, people):
    # Given five wrong passwords in a row
    for _ in range(5):
        login(client, "acme_member", "wrong-password")
    # When the right password comes next
    response = login(client, "acme_member", PASSWORD)
    # Then the lockout page answers and nobody is logged in
    assert response.status_code == 429
    assert h1(response) == ["账号已锁定"]
    assert "由于连续 5 次登录失败，该账号已被锁定 15 分钟。" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert Event.objects.filter(action="login").count() == 0
    assert Event.objects.filter(action="login_failed", summary="acme_member").count() >= 5


def test_four_wrong_passwords_do_not_lock(client, people):
    for _ in range(4):
        login(client, "acme_member", "wrong-password")
    response = login(client, "acme_member", PASSWORD)
    assert response.status_code == 302


def test_a_session_idle_for_more_than_thirty_minutes_is_logged_out(client, people):
    # Given a logged-in user whose last request was 31 minutes ago
    login(client, "acme_member", PASSWORD)
    assert client.get("/workspace/").status_code == 200
    session = client.session
    session["last_activity"] = int(time.time()) - 31 * 60
    session.save()
    # When they come back
    response = client.get("/workspace/")
    # Then they must log in again
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_a_session_idle_for_twenty_nine_minutes_stays(client, people):
    login(client, "acme_member", PASSWORD)
    session = client.session
    session["last_activity"] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/workspace/").status_code == 200


def test_logout_is_a_post_and_goes_home(client, people):
    login(client, "acme_member", PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session
    assert Event.objects.filter(action="logout", actor_name="acme_member").count() == 1


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        ("short1A!", ["密码长度太短。密码必须包含至少 10 个字符。"]),
        ("alllowercaseletters", ["密码须包含小写字母、大写字母、数字、符号中的至少 3 类。"]),
    ],
)
def test_password_rules_reject_weak_passwords_in_chinese(client, people, password, messages):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        validate_password(password)
    assert exc.value.messages == messages
    # and the password change page shows the same
    client.force_login(people.acme_member)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    html = response.content.decode()
    for message in messages:
        assert f"<li>{message}</li>" in html
    people.acme_member.refresh_from_db()
    assert people.acme_member.check_password(PASSWORD)


def test_password_change_with_a_strong_password(client, people):
    client.force_login(people.acme_member)
    page = client.get("/accounts/password/")
    assert h1(page) == ["修改密码"]
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "Huaibei-Tao-Lv-2024", "new_password2": "Huaibei-Tao-Lv-2024"},
        follow=True,
    )
    assert h1(response) == ["密码已修改"]
    people.acme_member.refresh_from_db()
    assert people.acme_member.check_password("Huaibei-Tao-Lv-2024")
