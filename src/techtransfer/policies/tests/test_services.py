"""政策兑现 services: library, 政策找企业 batch run, confirmation, payment and applications."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.http import Http404

from techtransfer.audit.models import Event
from techtransfer.audit.selectors import event_timeline
from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.organizations.models import Certification, OrganizationFacts
from techtransfer.policies import services
from techtransfer.policies.engine import current_library
from techtransfer.policies.facts import facts_for_organization
from techtransfer.policies.models import (
    Application,
    Entitlement,
    EntitlementRun,
    Policy,
    PolicyClause,
)

pytestmark = pytest.mark.django_db

APPLIED_ON = datetime.date(2025, 6, 1)


def run(actor, period=2025, applied_on=APPLIED_ON):
    return services.entitlement_batch_run(actor=actor, period=period, applied_on=applied_on)


def entitlement(org, clause_id, period=2025):
    return Entitlement.objects.get(organization=org, clause__clause_id=clause_id, period=period)


# ---------------------------------------------------------------- library


def test_library_sync_creates_each_shipped_policy_and_clause_once(library):
    assert Policy.objects.count() == 4
    hte = Policy.objects.get(engine_id="hte_recognition")
    assert hte.document_number == "国科发火〔2016〕32号"
    assert hte.level == "national"
    assert PolicyClause.objects.filter(clause_id="huaibei.hte_new_reward", track="exempt").exists()
    before = PolicyClause.objects.count()

    assert services.library_sync() == {}
    assert PolicyClause.objects.count() == before


def test_staff_clause_with_unknown_fact_gets_the_engines_chinese_error_and_changes_nothing(people, library):
    policy = Policy.objects.get(engine_id="huaibei_transfer_plan")
    events = Event.objects.count()
    with pytest.raises(ServiceError) as exc:
        services.clause_save(
            actor=people.platform_admin,
            policy=policy,
            clause_id="huaibei.staff_demo",
            fields={"title": "示例条款", "track": "exempt", "condition": "staf <= 500", "source_article": "二、（五）"},
        )
    assert exc.value.code == "rule_invalid"
    assert "未知的事实「staf」" in " ".join(exc.value.details["condition"])
    assert "staff" in " ".join(exc.value.details["condition"])  # did you mean
    assert not PolicyClause.objects.filter(clause_id="huaibei.staff_demo").exists()
    assert Event.objects.count() == events


def test_staff_clause_with_malformed_amount_is_refused(people, library):
    policy = Policy.objects.get(engine_id="huaibei_transfer_plan")
    with pytest.raises(ServiceError) as exc:
        services.clause_save(
            actor=people.platform_admin,
            policy=policy,
            clause_id="huaibei.staff_demo",
            fields={
                "title": "示例",
                "track": "exempt",
                "condition": "staff > 0",
                "amount": "staff **",
                "source_article": "一",
            },
        )
    assert list(exc.value.details) == ["amount"]
    assert not PolicyClause.objects.filter(clause_id="huaibei.staff_demo").exists()


def test_only_platform_admins_edit_the_library(people, library):
    policy = Policy.objects.get(engine_id="huaibei_transfer_plan")
    for user in (people.xiangshan_admin, people.acme_admin, None):
        with pytest.raises(AccessDenied):
            services.clause_save(actor=user, policy=policy, clause_id="x.y", fields={"title": "t"})
    assert not PolicyClause.objects.filter(clause_id="x.y").exists()


def test_a_clause_staff_add_is_applied_to_every_enterprise_by_the_next_run(people, library):
    OrganizationFacts.objects.create(organization=people.acme, year=2025, staff=120)
    OrganizationFacts.objects.create(organization=people.rival, year=2025, staff=800)
    policy = Policy.objects.get(engine_id="huaibei_transfer_plan")
    clause = services.clause_save(
        actor=people.platform_admin,
        policy=policy,
        clause_id="huaibei.small_enterprise_bonus",
        fields={
            "title": "小型企业示例奖励",
            "track": "exempt",
            "condition": "staff <= 300",
            "amount": "staff * 100",
            "source_article": "二、（五）",
        },
    )
    assert [e.action for e in event_timeline(target=clause)] == ["create"]
    assert "huaibei.small_enterprise_bonus" in current_library().clauses

    run(people.platform_admin)

    acme = entitlement(people.acme, "huaibei.small_enterprise_bonus")
    assert (acme.status, acme.amount) == ("eligible", Decimal("12000.00"))
    assert acme.trace["conditions"][0]["value"] is True
    # rival has 800 staff: not eligible, so nothing is stored for it
    assert not Entitlement.objects.filter(organization=people.rival, clause=clause).exists()


# ---------------------------------------------------------------- facts


def test_facts_mapping_reads_size_data_and_certifications(people, acme_new_hte):
    Certification.objects.create(organization=people.acme, kind="tech_sme", number="2025340603A0001", year=2025)
    facts = facts_for_organization(people.acme, 2025)
    assert facts == {
        "staff": 120,
        "revenue": Decimal("50000000.00"),
        "assets": Decimal("80000000.00"),
        "rd_spend_3y": Decimal("6100000.00"),
        "sales_3y": Decimal("120000000.00"),
        "tech_sme_registered_year": 2025,
        "is_tech_sme": True,
        "newly_recognized_hte_year": 2025,
    }
    assert facts_for_organization(people.rival, 2025) == {}


# ---------------------------------------------------------------- batch run


def test_batch_run_stores_eligible_and_missing_with_traces(people, library, acme_new_hte):
    found = run(people.platform_admin)

    reward = entitlement(people.acme, "huaibei.hte_new_reward")
    assert reward.result == "eligible"
    assert reward.status == "eligible"
    assert reward.amount == Decimal("150000.00")  # the 2025 value, in force on the application date
    assert reward.trace["parameters"][0]["value"] == "150000"
    assert reward.rule_version["clause"] == "huaibei.hte_new_reward"
    assert reward.rule_version["library"] == found.library_digest
    rival = entitlement(people.rival, "huaibei.hte_new_reward")
    assert (rival.status, rival.result, rival.amount) == ("incomplete", "missing", None)
    assert rival.missing == ["newly_recognized_hte_year"]
    assert found.enterprises == 2
    assert "huaibei.hte_new_reward" in found.clauses
    (event,) = event_timeline(target=found)
    assert (event.action, event.actor) == ("create", people.platform_admin)


def test_a_second_run_replaces_the_first_but_keeps_confirmed_decisions(people, library, acme_new_hte):
    run(people.platform_admin)
    reward = entitlement(people.acme, "huaibei.hte_new_reward")
    services.entitlement_confirm(actor=people.platform_admin, entitlement=reward)
    count = Entitlement.objects.count()

    second = run(people.platform_admin)

    assert Entitlement.objects.count() == count
    kept = entitlement(people.acme, "huaibei.hte_new_reward")
    assert (kept.pk, kept.status) == (reward.pk, "confirmed")
    # every undecided row was replaced by the second run's; the confirmed one is not stored again
    assert set(Entitlement.objects.exclude(pk=reward.pk).values_list("run_id", flat=True)) == {second.pk}
    assert second.counts["kept"] == 1
    assert EntitlementRun.objects.count() == 2


def test_batch_run_refused_for_region_admins_changes_nothing(people, library, acme_new_hte):
    events = Event.objects.count()
    with pytest.raises(AccessDenied):
        run(people.xiangshan_admin)
    assert Entitlement.objects.count() == 0
    assert EntitlementRun.objects.count() == 0
    assert Event.objects.count() == events


def test_batch_run_on_a_date_without_rules_evaluates_only_what_is_in_force(people, library, acme_new_hte):
    found = run(people.platform_admin, applied_on=datetime.date(2026, 12, 1))
    # the Huaibei plan ran to 2025-12-31: only the national pre-checks remain
    assert sorted(found.clauses) == ["hte.precheck", "tech_sme.precheck"]


def test_batch_run_command(people, library, acme_new_hte, capsys):
    call_command("policies", "run", "--period", "2025", "--applied-on", "2025-06-01")
    assert "huaibei.hte_new_reward" in capsys.readouterr().out
    assert entitlement(people.acme, "huaibei.hte_new_reward").amount == Decimal("150000.00")


# ---------------------------------------------------------------- confirm and pay


def test_confirm_and_pay_an_exempt_entitlement(people, library, acme_new_hte):
    run(people.platform_admin)
    reward = entitlement(people.acme, "huaibei.hte_new_reward")

    services.entitlement_confirm(actor=people.xiangshan_admin, entitlement=reward)
    services.payment_record(actor=people.xiangshan_admin, reference="HB-2025-0001", entitlements=[reward])

    reward.refresh_from_db()
    assert (reward.status, reward.payment_reference) == ("paid", "HB-2025-0001")
    transitions = [(e.from_status, e.to_status) for e in event_timeline(target=reward) if e.action == "transition"]
    assert sorted(transitions) == [("confirmed", "paid"), ("eligible", "confirmed")]


def test_other_regions_staff_cannot_see_or_confirm(people, library, acme_new_hte):
    run(people.platform_admin)
    reward = entitlement(people.acme, "huaibei.hte_new_reward")
    for user in (people.suixi_admin, people.rival_member):
        with pytest.raises(Http404):
            services.entitlement_confirm(actor=user, entitlement=reward)
    with pytest.raises(AccessDenied):  # acme's own member sees it but may not confirm it
        services.entitlement_confirm(actor=people.acme_admin, entitlement=reward)
    reward.refresh_from_db()
    assert reward.status == "eligible"


def test_a_clause_that_needs_an_application_cannot_be_confirmed(people, library):
    OrganizationFacts.objects.create(organization=people.acme, year=2025, staff=100, revenue=1, assets=1)
    run(people.platform_admin)
    precheck = entitlement(people.acme, "tech_sme.precheck")
    with pytest.raises(ServiceError) as exc:
        services.entitlement_confirm(actor=people.platform_admin, entitlement=precheck)
    assert exc.value.message == "“条件预检”须由企业申报，不能直接确认"


def test_payment_is_all_or_nothing(people, library, acme_new_hte):
    Certification.objects.create(
        organization=people.rival, kind="high_tech_enterprise", number="GR2025X", issued_on=datetime.date(2025, 1, 5)
    )
    run(people.platform_admin)
    acme = entitlement(people.acme, "huaibei.hte_new_reward")
    rival = entitlement(people.rival, "huaibei.hte_new_reward")
    services.entitlement_confirm(actor=people.platform_admin, entitlement=acme)  # rival is not confirmed
    events = Event.objects.count()

    with pytest.raises(ServiceError) as exc:
        services.payment_record(actor=people.platform_admin, reference="HB-1", entitlements=[acme, rival])

    assert "须先确认" in exc.value.message
    acme.refresh_from_db()
    assert (acme.status, acme.payment_reference) == ("confirmed", "")
    assert Event.objects.count() == events


# ---------------------------------------------------------------- applications


def _apply(people, notice, facts=None):
    return services.application_create(
        actor=people.acme_member,
        notice=notice,
        organization=people.acme,
        facts=facts if facts is not None else {"instrument_sharing_spend": "120000.00"},
    )


def test_submit_after_the_closing_date_is_refused_with_a_clear_message(people, notice):
    app = _apply(people, notice)
    with pytest.raises(ServiceError) as exc:
        services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 7, 1))
    assert (
        exc.value.message == "申报已于 2025-06-30 截止，不能再提交（通知：关于申报2025年度大型科研仪器共享补助的通知）"
    )
    app.refresh_from_db()
    assert (app.status, app.submitted_at) == ("draft", None)


def test_submit_on_the_closing_date_is_accepted(people, notice):
    app = _apply(people, notice)
    services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 30))
    app.refresh_from_db()
    assert (app.status, app.applied_on) == ("submitted", datetime.date(2025, 6, 30))


def test_bad_facts_in_an_application_are_refused_in_chinese(people, notice):
    with pytest.raises(ServiceError) as exc:
        _apply(people, notice, {"instrument_sharing_spend": "十万", "no_such_fact": 1})
    assert exc.value.details == {
        "instrument_sharing_spend": [
            "「使用共享大型科研仪器设备产生的支出」（instrument_sharing_spend）应为金额（元），收到「十万」"
        ],
        "no_such_fact": ["未知的事实「no_such_fact」"],
    }
    assert Application.objects.count() == 0


def test_only_members_apply_for_their_organization(people, notice):
    with pytest.raises(AccessDenied):
        services.application_create(actor=people.rival_member, notice=notice, organization=people.acme, facts={})
    assert Application.objects.count() == 0


def test_listed_materials_must_be_uploaded_before_submitting(people, notice):
    Policy.objects.filter(pk=notice.policy_id).update(guide_materials="仪器共享合同\n发票")
    app = _apply(people, notice)
    services.application_material_add(
        actor=people.acme_member, application=app, name="仪器共享合同", file=SimpleUploadedFile("c.pdf", b"%PDF-1.4")
    )
    with pytest.raises(ServiceError) as exc:
        services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 1))
    assert exc.value.message == "缺少申报材料：发票"


def test_review_return_then_approve_with_trace_then_pay(people, notice):
    app = _apply(people, notice)
    services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 1))
    with pytest.raises(ServiceError) as exc:
        services.application_review(actor=people.xiangshan_admin, application=app, decision="return")
    assert exc.value.code == "comment_required"

    services.application_review(actor=people.xiangshan_admin, application=app, decision="return", comment="请补充发票")
    app.refresh_from_db()
    assert (app.status, app.review_comment) == ("returned", "请补充发票")
    services.application_update(actor=people.acme_member, application=app, facts={"instrument_sharing_spend": "100000"})
    services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 2))

    services.application_review(actor=people.xiangshan_admin, application=app, decision="approve")
    app.refresh_from_db()
    assert (app.status, app.result, app.amount) == ("approved", "eligible", Decimal("30000.00"))
    assert app.trace["applied_on"] == "2025-06-02"
    assert app.rule_version["clause"] == "huaibei.instrument_sharing_subsidy"

    services.payment_record(actor=people.xiangshan_admin, reference="HB-9", applications=[app])
    app.refresh_from_db()
    assert app.status == "paid"
    events = sorted((e.pk, e.to_status) for e in event_timeline(target=app) if e.action == "transition")
    assert [status for _pk, status in events] == ["submitted", "returned", "submitted", "approved", "paid"]


def test_an_application_the_rules_reject_cannot_be_approved(people, notice):
    app = _apply(people, notice, {"instrument_sharing_spend": "0"})
    services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 1))
    with pytest.raises(ServiceError) as exc:
        services.application_review(actor=people.platform_admin, application=app, decision="approve")
    assert exc.value.code == "not_eligible"
    assert exc.value.message.startswith("按规则评价为“不符合”，不能批准")
    app.refresh_from_db()
    assert (app.status, app.trace) == ("submitted", {})


def test_other_region_cannot_review(people, notice):
    app = _apply(people, notice)
    services.application_submit(actor=people.acme_member, application=app, today=datetime.date(2025, 6, 1))
    with pytest.raises(Http404):
        services.application_review(actor=people.suixi_admin, application=app, decision="approve")
    with pytest.raises(AccessDenied):
        services.application_review(actor=people.acme_admin, application=app, decision="approve")
    app.refresh_from_db()
    assert app.status == "submitted"


def test_notices_are_published_by_platform_admins_only(people, notice):
    count = type(notice).objects.count()
    with pytest.raises(AccessDenied):
        services.notice_create(
            actor=people.xiangshan_admin,
            policy=notice.policy,
            fields={
                "clause": notice.clause,
                "title": "t",
                "period": 2025,
                "opens_on": APPLIED_ON,
                "closes_on": APPLIED_ON,
            },
        )
    with pytest.raises(ServiceError) as exc:  # closing before opening: the database constraint's check
        services.notice_create(
            actor=people.platform_admin,
            policy=notice.policy,
            fields={
                "clause": notice.clause,
                "title": "t",
                "period": 2025,
                "opens_on": APPLIED_ON,
                "closes_on": APPLIED_ON - datetime.timedelta(days=1),
            },
        )
    assert exc.value.code == "invalid"
    assert type(notice).objects.count() == count


def test_other_enterprises_cannot_change_an_application(people, notice):
    app = _apply(people, notice)
    with pytest.raises(Http404):
        services.application_update(actor=people.rival_member, application=app, facts={"instrument_sharing_spend": "1"})
    with pytest.raises(AccessDenied):  # staff see it but the facts are the enterprise's to state
        services.application_update(actor=people.xiangshan_admin, application=app, facts={})
    app.refresh_from_db()
    assert app.facts == {"instrument_sharing_spend": "120000.00"}
