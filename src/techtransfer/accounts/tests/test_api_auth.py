"""API authentication: bearer tokens (issue, use, revoke, expire), the browser session with CSRF, the console."""

import datetime
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from techtransfer.accounts.models import ApiToken
from techtransfer.accounts.services import api_token_authenticate, api_token_issue, api_token_revoke
from techtransfer.audit.models import Event
from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.core.tests.factories import DemandFactory
from techtransfer.demands.models import Demand

INVALID_TOKEN = {"code": "invalid_token", "message": "API 令牌无效、已吊销或已过期", "details": {}}
NEW_DEMAND = {"title": "陶铝复合材料焊接工艺需求", "description": "寻求搅拌摩擦焊工艺合作"}


def bearer(raw_key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


@pytest.fixture
def member_key(people):
    _token, raw_key = api_token_issue(user=people.acme_member, name="数据同步")
    return raw_key


# --- the services ---------------------------------------------------------------------------------------------


def test_issue_stores_only_the_hash_and_logs(people):
    token, raw_key = api_token_issue(user=people.acme_member, name="  数据同步  ", actor=people.platform_admin)

    assert raw_key.startswith("tt_") and len(raw_key) == 46
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert (token.name, token.key_prefix, token.user) == ("数据同步", raw_key[:10], people.acme_member)
    assert raw_key not in {token.key_hash, token.key_prefix, token.name}
    event = Event.objects.get(action="token")
    assert (event.actor_name, event.summary, event.target_repr) == (
        "platform_admin",
        "为 acme_member 签发 API 令牌",
        f"数据同步 ({raw_key[:10]}…)",
    )
    assert raw_key not in str(event.changes) and token.key_hash not in str(event.changes)


def test_issue_refuses_a_past_expiry_and_a_blank_name(people):
    with pytest.raises(ServiceError) as past:
        api_token_issue(user=people.acme_member, name="x", expires_at=timezone.now() - datetime.timedelta(days=1))
    with pytest.raises(ServiceError) as blank:
        api_token_issue(user=people.acme_member, name="  ")
    assert past.value.details == {"expires_at": ["过期时间必须晚于当前时间"]}
    assert blank.value.details == {"name": ["此字段不能为空。"]}
    assert not ApiToken.objects.exists()
    assert not Event.objects.filter(action="token").exists()


def test_a_user_issuing_their_own_token_is_its_actor(people):
    api_token_issue(user=people.acme_member, name="脚本")
    assert Event.objects.get(action="token").actor_name == "acme_member"


def test_owner_revokes_and_the_event_is_logged(people):
    token, raw_key = api_token_issue(user=people.acme_member, name="脚本")

    api_token_revoke(token=token, actor=people.acme_member)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(raw_key=raw_key) is None
    events = Event.objects.filter(action="token").order_by("id")
    assert [(e.actor_name, e.summary) for e in events] == [
        ("acme_member", "为 acme_member 签发 API 令牌"),
        ("acme_member", "吊销 API 令牌"),
    ]


@pytest.mark.parametrize("who,allowed", [("acme_member", True), ("platform_admin", True), ("acme_admin", False)])
def test_who_may_revoke(people, who, allowed):
    token, _raw = api_token_issue(user=people.acme_member, name="脚本")
    if allowed:
        api_token_revoke(token=token, actor=getattr(people, who))
    else:
        with pytest.raises(AccessDenied):
            api_token_revoke(token=token, actor=getattr(people, who))
    token.refresh_from_db()
    assert (token.revoked_at is not None) == allowed


def test_revoking_twice_is_refused(people):
    token, _raw = api_token_issue(user=people.acme_member, name="脚本")
    api_token_revoke(token=token, actor=None)
    with pytest.raises(ServiceError) as exc:
        api_token_revoke(token=token, actor=None)
    assert exc.value.message.startswith("该令牌已于 ")
    assert Event.objects.filter(action="token").count() == 2


def test_last_used_is_written_at_most_once_a_minute(people, member_key, django_assert_num_queries):
    token = ApiToken.objects.get()
    assert token.last_used_at is None
    with django_assert_num_queries(2):  # the lookup and the first stamp
        assert api_token_authenticate(raw_key=member_key) == people.acme_member
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    with django_assert_num_queries(1):  # within the minute: the lookup only
        api_token_authenticate(raw_key=member_key)

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - datetime.timedelta(minutes=2))
    api_token_authenticate(raw_key=member_key)
    token.refresh_from_db()
    assert token.last_used_at > first


# --- tokens over HTTP -----------------------------------------------------------------------------------------


def test_valid_token_reads_as_its_user(people, member_key):
    draft = DemandFactory(organization=people.acme)

    response = Client().get("/api/v1/demands", **bearer(member_key))

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [draft.pk]
    assert response.json()["results"][0]["contact_phone"] == "13800001111"


def test_valid_token_writes_without_csrf(people, member_key):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/demands", {**NEW_DEMAND, "organization_id": people.acme.pk}, "application/json", **bearer(member_key)
    )

    assert response.status_code == 201
    demand = Demand.objects.get()
    assert (demand.created_by, demand.title) == (people.acme_member, NEW_DEMAND["title"])
    assert Event.objects.get(action="create").actor_name == "acme_member"


def _revoked(people, raw_key):
    api_token_revoke(token=ApiToken.objects.get(), actor=None)


def _expired(people, raw_key):
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))


def _deactivated(people, raw_key):
    people.acme_member.is_active = False
    people.acme_member.save(update_fields=["is_active"])


@pytest.mark.parametrize("spoil", [_revoked, _expired, _deactivated], ids=["revoked", "expired", "inactive_user"])
def test_dead_tokens_are_refused_even_for_reads(people, member_key, spoil):
    DemandFactory(organization=people.acme, status="published")
    spoil(people, member_key)

    read = Client().get("/api/v1/demands", **bearer(member_key))
    write = Client().post(
        "/api/v1/demands", {**NEW_DEMAND, "organization_id": people.acme.pk}, "application/json", **bearer(member_key)
    )

    assert (read.status_code, read.json()) == (401, INVALID_TOKEN)
    assert read["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert (write.status_code, write.json()) == (401, INVALID_TOKEN)
    assert not Demand.objects.filter(title=NEW_DEMAND["title"]).exists()


@pytest.mark.parametrize(
    "header",
    ["Bearer tt_not-a-real-key", "Bearer not-even-our-prefix", "Bearer ", "bearer"],
    ids=["unknown", "foreign", "empty", "no_key"],
)
def test_wrong_bearer_tokens_are_refused(people, header):
    response = Client().get("/api/v1/demands", HTTP_AUTHORIZATION=header)
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN)


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Token tt_abc"], ids=["basic", "other_scheme"])
def test_other_schemes_are_not_credentials(people, header):
    """A proxy's Basic auth passes through: reads are anonymous, writes still need a token or a session."""
    DemandFactory(organization=people.acme, status="published")
    read = Client().get("/api/v1/demands", HTTP_AUTHORIZATION=header)
    write = Client().post("/api/v1/demands", NEW_DEMAND, "application/json", HTTP_AUTHORIZATION=header)
    assert (read.status_code, read.json()["count"]) == (200, 1)
    assert (write.status_code, write.json()["code"]) == (401, "unauthenticated")


def test_a_token_is_tried_before_the_session(people, member_key):
    """A browser logged in as someone else still acts as the token's user."""
    client = Client()
    client.force_login(people.rival_member)
    draft = DemandFactory(organization=people.acme)
    assert client.get(f"/api/v1/demands/{draft.pk}").status_code == 404
    assert client.get(f"/api/v1/demands/{draft.pk}", **bearer(member_key)).status_code == 200


# --- the browser session --------------------------------------------------------------------------------------


def test_session_write_needs_the_csrf_token(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.acme_member)
    body = {**NEW_DEMAND, "organization_id": people.acme.pk}

    refused = client.post("/api/v1/demands", body, content_type="application/json")

    assert (refused.status_code, refused.json()) == (
        403,
        {"code": "csrf_failed", "message": "CSRF 校验失败：请刷新页面后重试，或改用 API 令牌", "details": {}},
    )
    assert not Demand.objects.exists()

    client.get("/api/v1/docs")  # the docs page hands out the CSRF cookie (Swagger sends it back as a header)
    csrf = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/demands", body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)

    assert accepted.status_code == 201
    assert Demand.objects.get().created_by == people.acme_member


def test_session_reads_need_no_csrf(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.acme_member)
    draft = DemandFactory(organization=people.acme)
    assert client.get(f"/api/v1/demands/{draft.pk}").status_code == 200


# --- the console ----------------------------------------------------------------------------------------------


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_creates_a_token_and_prints_the_key_once(people):
    out, err = run("create", "acme_member", "--name", "ERP 同步", "--days", "30")

    raw_key = out.strip()
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert token.name == "ERP 同步"
    expected = timezone.now() + datetime.timedelta(days=30)
    assert abs((token.expires_at - expected).total_seconds()) < 60
    assert f"前缀 {raw_key[:10]}" in err and raw_key not in err
    assert Client().get("/api/v1/demands", **bearer(raw_key)).status_code == 200
    assert Event.objects.get(action="token").actor_name == ""  # issued at the console, not by a user


def test_command_without_days_issues_a_lasting_token(people):
    run("create", "acme_member", "--name", "长期")
    assert ApiToken.objects.get().expires_at is None


def test_command_revokes_by_prefix(people):
    raw_key = run("create", "acme_member", "--name", "ERP 同步")[0].strip()

    out, _err = run("revoke", raw_key[:10])

    assert out.strip() == f"已吊销令牌“ERP 同步”（{raw_key[:10]}，用户 acme_member）。"
    assert Client().get("/api/v1/demands", **bearer(raw_key)).status_code == 401
    with pytest.raises(CommandError, match=f"没有以 {raw_key[:10]} 开头的有效令牌"):
        run("revoke", raw_key[:10])


def test_command_refuses_an_ambiguous_prefix_and_unknown_user(people):
    run("create", "acme_member", "--name", "一")
    run("create", "acme_member", "--name", "二")
    with pytest.raises(CommandError, match="不止一个"):
        run("revoke", "tt_")
    with pytest.raises(CommandError, match="用户不存在：nobody"):
        run("create", "nobody", "--name", "x")
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_command_lists_tokens_without_keys(people):
    raw_key = run("create", "acme_member", "--name", "ERP 同步")[0].strip()
    out, _err = run("list")
    assert out.strip() == f"{raw_key[:10]}\tacme_member\tERP 同步\t有效\t从未使用"
