"""智能推荐 on the record forms and ``POST /api/v1/suggest/fields``: the shipped models' answers, shown and applied."""

import re

import pytest

from techtransfer.core.choices import HighTechField
from techtransfer.core.tests.factories import AchievementFactory, ExpertFactory
from techtransfer.fieldsuggest import model as fieldsuggest

from .helpers import page, text

pytestmark = pytest.mark.django_db

# A real-looking achievement (the kind of text the 陶铝 enterprises of Huaibei register).
CERAMIC_ALUMINIUM = {
    "title": "原位自生陶瓷颗粒增强铝基复合材料制备技术",
    "abstract": "采用熔体直接反应法在铝合金熔体中原位生成纳米TiB2陶瓷颗粒，颗粒分布均匀、界面结合良好，"
    "复合材料抗拉强度和弹性模量显著提高，可用于汽车轻量化零部件和电子封装材料。",
}
ANTITUMOUR = {
    "title": "一种靶向EGFR突变的小分子抗肿瘤药物及其制备方法",
    "abstract": "本发明公开了一类新型喹唑啉衍生物，可选择性抑制EGFR T790M突变激酶，对非小细胞肺癌细胞株具有显著的"
    "增殖抑制作用，并完成了药代动力学和急性毒性研究。",
}
# 现代农业, a market field that none of the eight high-tech fields covers.
RICE = {
    "title": "优质高产抗病水稻新品种选育及配套栽培技术",
    "abstract": "以杂交选育方法培育出抗稻瘟病、耐高温的水稻新品种，平均亩产提高12%，"
    "并集成了测土配方施肥和病虫害绿色防控技术。",
}
SHORT_HINT = "文字太短：至少需要 10 个字才能推荐学科和技术领域。"
MISSING_HINT = "智能推荐暂不可用：推荐模型文件缺失，请联系平台管理员。"


def joined(record: dict) -> str:
    return f"{record['title']}。{record['abstract']}"


def percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"


def shown_groups(response) -> dict[str, list[str]]:
    """Each suggestion group of the panel (by the field it fills) as its rows' visible text."""
    groups = {}
    for name, body in re.findall(
        r'<section class="suggestion-group" data-target="([^"]+)">(.*?)</section>', page(response), re.S
    ):
        groups[name] = [text(li) for li in re.findall(r"<li>(.*?)</li>", body, re.S)]
    return groups


def apply_buttons(response) -> list[dict]:
    return [
        {"vals": vals, "target": target, "label": text(label)}
        for vals, target, label in re.findall(
            r"<button[^>]*class=\"link suggestion-apply\"[^>]*hx-vals='([^']*)' "
            r"hx-target=\"#control-(\w+)\"[^>]*>(.*?)</button>",
            page(response),
            re.S,
        )
    ]


# ---------------------------------------------------------------- the panel on the forms


def test_create_page_places_the_panel_before_the_discipline_field(client, people):
    client.force_login(people.acme_member)
    html = page(client.get("/achievements/new/"))
    panel = html.index('id="field-suggestions"')
    assert 'hx-post="/achievements/suggest/"' in html
    assert (
        html.index('id="id_abstract"')
        < panel
        < html.index('id="id_discipline"')
        < html.index('id="id_high_tech_field"')
    )
    # Typing in the name or the abstract refreshes the panel, and so does changing a field it fills.
    assert names_with_class(html, "suggest-source") == ["title", "abstract"]
    assert names_with_class(html, "suggest-target") == ["discipline", "high_tech_field"]
    assert (
        "load, input changed delay:800ms from:closest form target:.suggest-source, "
        "change from:closest form target:.suggest-target, suggestion-applied from:body"
    ) in html


def names_with_class(html: str, css_class: str) -> list[str]:
    tags = re.findall(rf'<(?:input|textarea|select)[^>]*class="{css_class}"[^>]*>', html)
    return [re.search(r'name="(\w+)"', tag).group(1) for tag in tags]


def test_edit_page_asks_for_the_records_own_suggestions(client, people):
    achievement = AchievementFactory(organization=people.acme)
    client.force_login(people.acme_member)
    assert f'hx-post="/achievements/{achievement.pk}/suggest/"' in page(
        client.get(f"/achievements/{achievement.pk}/edit/")
    )


def test_instruments_have_no_field_to_suggest(client, people):
    client.force_login(people.acme_member)
    assert 'id="field-suggestions"' not in page(client.get("/instruments/new/"))
    assert (
        client.post("/instruments/suggest/", {"name": "场发射扫描电子显微镜，用于材料表面形貌分析"}).status_code == 404
    )


def test_panel_shows_the_shipped_models_top_three_with_percentages(client, people):
    client.force_login(people.acme_member)
    response = client.post("/achievements/suggest/", CERAMIC_ALUMINIUM)
    assert response.status_code == 200
    disciplines = fieldsuggest.suggest(joined(CERAMIC_ALUMINIUM), 3, target="discipline")
    fields = fieldsuggest.suggest(joined(CERAMIC_ALUMINIUM), 3, target="field")
    labels = dict(fieldsuggest.HIGH_TECH_FIELD_OF)
    assert shown_groups(response)["discipline"] == [f"{label} {percent(p)} 填入" for label, p in disciplines]
    expected_fields = []
    for label, p in fields:
        high_tech = labels[label]
        if high_tech is None:
            expected_fields.append(f"{label} {percent(p)} 无对应的高新技术领域")
        else:
            name = str(HighTechField(high_tech).label)
            expected_fields.append(f"{label}{f' → {name}' if name != label else ''} {percent(p)} 填入")
    assert shown_groups(response)["high_tech_field"] == expected_fields


def test_an_antitumour_drug_is_pharmacy_and_bio_medicine(client, people):
    client.force_login(people.acme_member)
    groups = shown_groups(client.post("/achievements/suggest/", ANTITUMOUR))
    assert groups["discipline"][0].split()[0] == "药学"
    assert groups["high_tech_field"][0].split()[:3] == ["生物医药", "→", "生物与新医药"]


def test_a_market_field_with_no_high_tech_equivalent_has_no_apply_button(client, people):
    client.force_login(people.acme_member)
    response = client.post("/achievements/suggest/", RICE)
    fields = fieldsuggest.suggest(joined(RICE), 3, target="field")
    assert fields[0][0] == "现代农业" and fieldsuggest.HIGH_TECH_FIELD_OF["现代农业"] is None
    rows = shown_groups(response)["high_tech_field"]
    assert rows[0] == f"现代农业 {percent(fields[0][1])} 无对应的高新技术领域"
    field_buttons = [b for b in apply_buttons(response) if b["target"] == "high_tech_field"]
    assert len(field_buttons) == sum(fieldsuggest.HIGH_TECH_FIELD_OF[label] is not None for label, _p in fields)
    assert "现代农业" not in "".join(b["vals"] for b in field_buttons)


def test_short_text_gets_a_hint_and_no_suggestions(client, people):
    client.force_login(people.acme_member)
    response = client.post("/achievements/suggest/", {"title": " 抗肿瘤药物 ", "abstract": "  "})
    assert text(page(response)) == SHORT_HINT
    assert shown_groups(response) == {}


def test_a_value_already_in_the_field_is_not_offered_and_another_is_named(client, people):
    client.force_login(people.acme_member)
    response = client.post(
        "/achievements/suggest/", {**ANTITUMOUR, "discipline": "药学", "high_tech_field": "new_energy"}
    )
    assert (
        shown_groups(response)["discipline"][0]
        == f"药学 {percent(fieldsuggest.suggest(joined(ANTITUMOUR))[0][1])} 已填入"
    )
    field_button = next(b for b in apply_buttons(response) if b["target"] == "high_tech_field")
    assert field_button["label"] == "改为此项（当前为“新能源与节能”）"


def test_demand_panel_offers_fields_only(client, people):
    client.force_login(people.acme_member)
    response = client.post(
        "/demands/suggest/",
        {
            "title": "抗肿瘤新药临床前药效评价合作",
            "description": "寻求小分子靶向药物的药代动力学和毒理研究合作。",
            "fields": ["new_energy"],
        },
    )
    groups = shown_groups(response)
    assert list(groups) == ["fields"]
    assert groups["fields"][0].split()[:3] == ["生物医药", "→", "生物与新医药"]
    assert apply_buttons(response)[0]["label"] == "填入"  # ticking one more box changes nothing else


# ---------------------------------------------------------------- applying a suggestion


def applied_control(client, path: str, form: dict, target: str, value: str) -> str:
    """The form control ``target`` as applying ``value`` over the form ``form`` re-renders it."""
    response = client.post(path, {**form, "suggestion_target": target, "suggestion_value": value})
    assert response.status_code == 200
    return page(response)


def test_applying_a_discipline_fills_the_empty_box(client, people):
    client.force_login(people.acme_member)
    response = client.post(
        "/achievements/suggest/apply/",
        {**ANTITUMOUR, "discipline": "", "suggestion_target": "discipline", "suggestion_value": "药学"},
    )
    html = page(response)
    assert response.status_code == 200 and response["HX-Trigger-After-Settle"] == "suggestion-applied"
    assert html.startswith('<div class="form-control" id="control-discipline">')
    assert re.search(r'<input type="text" name="discipline" value="药学"[^>]*id="id_discipline"', html)
    assert (
        text(re.search(r'<p class="help suggestion-applied"[^>]*>(.*?)</p>', html).group(1)) == "已填入推荐的“药学”。"
    )


def test_applying_over_a_typed_discipline_says_what_it_replaced(client, people):
    client.force_login(people.acme_member)
    html = applied_control(client, "/achievements/suggest/apply/", {"discipline": "化学"}, "discipline", "药学")
    assert 'value="药学"' in html and 'value="化学"' not in html
    assert "已将“化学”改为推荐的“药学”。" in html


def test_applying_a_high_tech_field_selects_it(client, people):
    client.force_login(people.acme_member)
    html = applied_control(
        client, "/achievements/suggest/apply/", {"high_tech_field": ""}, "high_tech_field", "bio_medicine"
    )
    assert re.findall(r'<option value="(\w*)" selected>', html) == ["bio_medicine"]
    assert '<select name="high_tech_field" class="suggest-target" id="id_high_tech_field">' in html
    assert "已填入推荐的“生物与新医药”。" in html


def test_applying_to_a_demands_fields_adds_a_box_and_keeps_the_others(client, people):
    client.force_login(people.acme_member)
    html = applied_control(client, "/demands/suggest/apply/", {"fields": ["new_energy"]}, "fields", "bio_medicine")
    assert sorted(re.findall(r'<input type="checkbox" name="fields" value="(\w+)"[^>]*checked', html)) == [
        "bio_medicine",
        "new_energy",
    ]
    assert "已勾选推荐的“生物与新医药”。" in html


@pytest.mark.parametrize(
    "target, value, message",
    [
        ("discipline", "炼金术", "“炼金术”不是可推荐的值"),
        ("high_tech_field", "alchemy", "“alchemy”不是可推荐的值"),
        ("organization", "1", "没有可以填入推荐的栏目“organization”"),
    ],
)
def test_applying_something_the_model_cannot_suggest_is_refused(client, people, target, value, message):
    client.force_login(people.acme_member)
    response = client.post("/achievements/suggest/apply/", {"suggestion_target": target, "suggestion_value": value})
    assert (response.status_code, response.content.decode()) == (400, message)


# ---------------------------------------------------------------- who may ask


def test_anonymous_callers_are_sent_to_the_login_page(client):
    for url in ("/achievements/suggest/", "/achievements/suggest/apply/"):
        response = client.post(url, ANTITUMOUR)
        assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={url}")


def test_a_user_who_may_not_create_records_is_refused(client, people):
    client.force_login(people.outsider)
    assert client.post("/achievements/suggest/", ANTITUMOUR).status_code == 403
    assert (
        client.post(
            "/achievements/suggest/apply/", {"suggestion_target": "discipline", "suggestion_value": "药学"}
        ).status_code
        == 403
    )
    assert client.get("/api/v1/demands").status_code == 200  # reads stay open; only the classifier is refused


def test_an_expert_editing_their_own_profile_gets_suggestions(client, people):
    own = ExpertFactory(organization=None, user=people.expert)
    other = ExpertFactory(organization=people.acme)
    client.force_login(people.expert)
    body = {"expertise": "小分子靶向抗肿瘤药物的设计、合成与药效评价", "bio": ""}
    assert client.post("/experts/suggest/", body).status_code == 403  # no organization: may not create
    assert f'hx-post="/experts/{own.pk}/suggest/"' in page(client.get(f"/experts/{own.pk}/edit/"))
    response = client.post(f"/experts/{own.pk}/suggest/", body)
    assert list(shown_groups(response)) == ["discipline", "fields"]
    assert client.post(f"/experts/{other.pk}/suggest/", body).status_code == 403


def test_on_a_records_edit_page_the_rule_is_editing_that_record(client, people):
    rivals = AchievementFactory(organization=people.rival)
    own = AchievementFactory(organization=people.acme)
    client.force_login(people.acme_member)  # may create records, but may not edit the rival's
    apply = {"suggestion_target": "discipline", "suggestion_value": "药学"}
    assert client.post(f"/achievements/{rivals.pk}/suggest/", ANTITUMOUR).status_code == 403
    assert client.post(f"/achievements/{rivals.pk}/suggest/apply/", apply).status_code == 403
    assert client.post(f"/achievements/{own.pk}/suggest/", ANTITUMOUR).status_code == 200
    assert client.post(f"/achievements/{own.pk}/suggest/apply/", apply).status_code == 200


def test_the_panel_runs_the_same_few_queries_whatever_the_text(client, people, django_assert_num_queries):
    client.force_login(people.acme_member)
    client.post("/achievements/suggest/", ANTITUMOUR)  # the models load once per process, outside the count
    # Session, user, then the user's roles and memberships for the access rule: nothing else.
    for body in (ANTITUMOUR, CERAMIC_ALUMINIUM, {"title": "短"}):
        with django_assert_num_queries(4):
            assert client.post("/achievements/suggest/", body).status_code == 200
    apply = {"suggestion_target": "high_tech_field", "suggestion_value": "bio_medicine"}
    with django_assert_num_queries(4):
        assert client.post("/achievements/suggest/apply/", apply).status_code == 200
    with django_assert_num_queries(4):
        assert api_post(client, {"text": joined(ANTITUMOUR)}).status_code == 200


def test_a_missing_model_leaves_the_form_working(client, people, monkeypatch, tmp_path):
    monkeypatch.setattr(fieldsuggest, "MODEL_DIR", tmp_path)
    client.force_login(people.acme_member)
    assert text(page(client.post("/achievements/suggest/", ANTITUMOUR))) == MISSING_HINT
    response = client.post(
        "/achievements/suggest/apply/", {"suggestion_target": "discipline", "suggestion_value": "药学"}
    )
    assert (response.status_code, response.content.decode()) == (400, MISSING_HINT)
    assert client.get("/achievements/new/").status_code == 200
    saved = client.post(
        "/achievements/new/",
        {**ANTITUMOUR, "kind": "applied", "organization": people.acme.pk, "contact_name": "李老师"},
    )
    assert saved.status_code == 302


# ---------------------------------------------------------------- the API


def api_post(client, body):
    return client.post("/api/v1/suggest/fields", body, content_type="application/json")


def test_api_answers_the_shipped_models_suggestions(client, people):
    client.force_login(people.acme_member)
    response = api_post(client, {"text": joined(ANTITUMOUR), "k": 3})
    assert response.status_code == 200
    assert response.json() == {
        "discipline": [
            {"label": label, "probability": p}
            for label, p in fieldsuggest.suggest(joined(ANTITUMOUR), 3, target="discipline")
        ],
        "field": [
            {"label": label, "probability": p, "high_tech_field": fieldsuggest.HIGH_TECH_FIELD_OF[label]}
            for label, p in fieldsuggest.suggest(joined(ANTITUMOUR), 3, target="field")
        ],
    }
    assert response.json()["discipline"][0]["label"] == "药学"
    assert response.json()["field"][0]["high_tech_field"] == "bio_medicine"
    assert [len(v) for v in api_post(client, {"text": joined(ANTITUMOUR), "k": 1}).json().values()] == [1, 1]


@pytest.mark.parametrize(
    "body, details",
    [
        ({"text": "抗肿瘤药物"}, {"text": [SHORT_HINT]}),
        ({"text": "药" * 20_001}, {"text": ["确保该值不超过 20000 个字符。"]}),
        ({}, {"text": ["这个字段是必填项。"]}),
        ({"text": joined(ANTITUMOUR), "k": 11}, {"k": ["确保该值小于或等于10。"]}),
        ({"text": joined(ANTITUMOUR), "kind": "x"}, {"kind": ["不认识的字段。"]}),
    ],
)
def test_api_refuses_bad_input_in_chinese(client, people, body, details):
    client.force_login(people.acme_member)
    response = api_post(client, body)
    assert (response.status_code, response.json()) == (
        400,
        {"code": "invalid", "message": "数据校验未通过", "details": details},
    )


def test_api_is_closed_to_anonymous_callers_and_to_users_who_may_not_create(client, people):
    response = api_post(client, {"text": joined(ANTITUMOUR)})
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    client.force_login(people.outsider)
    response = api_post(client, {"text": joined(ANTITUMOUR)})
    assert (response.status_code, response.json()) == (
        403,
        {"code": "forbidden", "message": "您还不属于任何单位，不能使用智能推荐", "details": {}},
    )


def test_api_says_when_the_model_is_missing(client, people, monkeypatch, tmp_path):
    monkeypatch.setattr(fieldsuggest, "MODEL_DIR", tmp_path)
    client.force_login(people.acme_member)
    response = api_post(client, {"text": joined(ANTITUMOUR)})
    assert (response.status_code, response.json()) == (
        503,
        {"code": "model_missing", "message": MISSING_HINT, "details": {}},
    )
