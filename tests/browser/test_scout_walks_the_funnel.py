"""Issue #3's browser tests: a scout walks matches through the funnel (对接), and the figures follow.

Driven through Debian's Chromium against the real server on a scratch demo database (``demo_server.py``):

1. the demo scout (孙情报) logs in, opens 淮北陶铝新材料's published demand and, from its "为您推荐" block,
   records a match with the first recommended achievement;
2. moves it through 已联系 → 洽谈中 → 已签约 with a note at each step; the timeline names who took each step;
3. records a second match with the next recommended achievement, contacts and then drops it;
4. the funnel page shows the counts and conversion rates per stage, per scout and per region, exactly;
5. the demand's owner (the enterprise's member 钱研发) sees both matches on the demand's page and the timeline;
6. and, on an achievement's page, "为您推荐" names the enterprises that may need it, with the reason.

No request leaves the test server, and no page logs a console error or answers 4xx/5xx.
"""

import pytest

from .pages import log_in

pytestmark = pytest.mark.browser

SCOUT = "demo_scout"
SCOUT_NAME = "孙情报"
OWNER = "demo_company"  # 企业成员（淮北陶铝新材料）, whose organization published the demand
DEMAND = "陶铝复合材料高速列车制动盘近净成形工艺优化"
REGION = "淮北高新技术产业开发区"  # the demand's region: the match is counted there


def open_demand(page):
    """From the demand list, by keyword, to the demand's page; wait for htmx to load "为您推荐"."""
    from playwright.sync_api import expect

    page.goto("/demands/?q=制动盘近净成形")
    page.locator("#results td.title a", has_text=DEMAND).click()
    expect(page.locator("h1")).to_have_text(DEMAND)
    expect(page.locator("section.recommendations h2")).to_have_text("为您推荐")
    return page.locator("section.recommendations")


def record_match(page, position: int) -> str:
    """Record a match with the ``position``-th recommended achievement; its title."""
    from playwright.sync_api import expect

    block = open_demand(page)
    item = block.locator("section[aria-labelledby=recommend-achievements] li.match-result").nth(position)
    title = item.locator("a").first.inner_text()
    item.get_by_role("button", name="登记对接", exact=True).click()
    expect(page.locator("h1")).to_have_text(f"{DEMAND} ↔ {title}")
    expect(page.locator(".page-head .badge")).to_have_text("已推荐")
    return title


def advance(page, stage: str, label: str, note: str) -> None:
    from playwright.sync_api import expect

    page.locator(f"#note-{stage}").fill(note)
    page.get_by_role("button", name=f"转为“{label}”", exact=True).click()
    expect(page.locator(".messages")).to_have_text(f"对接阶段已更新为“{label}”")
    expect(page.locator(".page-head .badge")).to_have_text(label)


def cells(row) -> list[str]:
    return [c.strip() for c in row.locator("th, td").all_inner_texts()]


def test_a_scout_walks_matches_through_the_funnel(open_page, watch):
    from playwright.sync_api import expect

    # Given the scout, logged in, on the enterprise's published demand
    scout = open_page()
    log_in(scout, SCOUT)

    # When they record a match with the first recommendation and walk it to signed, a note at each step
    signed_title = record_match(scout, 0)
    signed_path = scout.url.removeprefix(watch.base_url)
    steps = [
        ("contacted", "已联系", "已电话联系企业技术负责人"),
        ("negotiating", "洽谈中", "双方在高新区洽谈许可条件"),
        ("signed", "已签约", "签订技术许可合同"),
    ]
    for stage, label, note in steps:
        advance(scout, stage, label, note)
    assert scout.locator(".actions button").count() == 0  # a signed match is closed

    # Then its timeline names who took each step, with the notes
    timeline = scout.locator("ol.timeline > li")
    expect(timeline).to_have_count(4)
    assert timeline.locator(".transition").all_inner_texts() == [
        "→ 已推荐",
        "已推荐 → 已联系",
        "已联系 → 洽谈中",
        "洽谈中 → 已签约",
    ]
    assert timeline.locator(".actor").all_inner_texts() == [SCOUT_NAME] * 4
    assert timeline.locator("blockquote").all_inner_texts() == [note for _s, _l, note in steps]

    # When they record a second match with the next recommendation, contact the owner and drop it
    dropped_title = record_match(scout, 1)
    assert dropped_title != signed_title
    advance(scout, "contacted", "已联系", "已发送成果资料")
    advance(scout, "dropped", "已终止", "企业暂缓该方向投入")

    # Then the funnel page shows the counts and conversion rates per stage, per scout and per region
    scout.goto("/matching/funnel/")
    expect(scout.locator("section[aria-labelledby=funnel-title] p")).to_have_text(
        "共 2 项对接，已签约 1 项，已终止 1 项。"
    )
    stages = scout.locator("table.funnel tbody tr")
    assert [cells(stages.nth(i)) for i in range(stages.count())] == [
        ["已推荐", "0", "2", "—"],
        ["已联系", "0", "2", "100%"],
        ["洽谈中", "0", "1", "50%"],
        ["已签约", "1", "1", "100%"],
    ]
    expected_group = ["2", "2", "2 （100%）", "1 （50%）", "1 （100%）", "1", "50%"]
    for section, name in (("scout-title", SCOUT_NAME), ("region-title", REGION)):
        rows = scout.locator(f"section[aria-labelledby={section}] tbody tr")
        assert [cells(rows.nth(i)) for i in range(rows.count())] == [[name, *expected_group]]
    listed = scout.locator("section[aria-labelledby=matches-title] tbody tr")
    assert sorted(listed.locator("td:nth-child(3)").all_inner_texts()) == ["已签约", "已终止"]

    # And the demand's owner, in a fresh context, sees both matches on the demand's page, and the timeline
    owner = open_page()
    log_in(owner, OWNER)
    block = open_demand(owner)
    matches = block.locator("section[aria-labelledby=recommend-matches] li")
    expect(matches).to_have_count(2)
    assert sorted(matches.locator("a").all_inner_texts()) == sorted([signed_title, dropped_title])
    assert block.get_by_role("button", name="登记对接").count() == 0  # an enterprise member does not drive matches
    matches.locator("a", has_text=signed_title).click()
    owner.wait_for_url(f"**{signed_path}")
    expect(owner.locator(".page-head .badge")).to_have_text("已签约")
    assert owner.locator("ol.timeline > li .actor").all_inner_texts() == [SCOUT_NAME] * 4
    assert owner.locator(".actions").count() == 0

    assert watch.foreign == []
    assert watch.errors == []


def test_an_achievement_page_names_the_enterprises_that_may_need_it(open_page, watch):
    from playwright.sync_api import expect

    visitor = open_page()
    visitor.goto("/achievements/?q=溃疡性结肠炎")
    visitor.locator("#results td.title a", has_text="中药治疗溃疡性结肠炎临床观察").click()
    section = visitor.locator("section[aria-labelledby=recommend-enterprises]")
    expect(section.locator("h3")).to_have_text("可能需要该成果的企业")
    first = section.locator("li.match-result").first
    expect(first.locator("a").first).to_have_text("淮北生物医药科技有限公司（示例）")
    assert (
        first.locator("p.why")
        .first.inner_text()
        .startswith("需求《中药配方颗粒指纹图谱质量控制》与本成果相关；共同词语：中药")
    )
    first.get_by_role("link", name="查看需求《中药配方颗粒指纹图谱质量控制》").click()
    expect(visitor.locator("h1")).to_have_text("中药配方颗粒指纹图谱质量控制")

    assert watch.foreign == []
    assert watch.errors == []
