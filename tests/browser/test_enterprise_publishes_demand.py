"""Issue #2's browser test: an enterprise registers a demand, it is reviewed and published, the public finds it.

Driven through Debian's Chromium against the real server (``runserver`` on a scratch demo database,
see ``demo_server.py``), the way people click through it:

1. the demo enterprise's member (淮北陶铝新材料, in 淮北高新区) logs in, registers a technology demand
   with a unique title from the workspace and submits it for review;
2. the public cannot find it while it is under review;
3. 淮北高新区's region administrator logs in, in a fresh browser context, opens it from the review
   queue of the workspace and approves it;
4. the enterprise publishes it;
5. an anonymous visitor searches the demand list by keyword, finds it, and its page shows the four
   steps on the timeline.

Throughout, no request leaves the test server, and no page logs a console error (a Content-Security
-Policy violation is one) or answers 4xx/5xx.
"""

import secrets

import pytest

from .pages import log_in

pytestmark = pytest.mark.browser

COMPANY = "demo_company"  # 企业成员（淮北陶铝新材料）
COMPANY_NAME = "淮北陶铝新材料科技有限公司（示例）"
REVIEWER = "demo_gaoxin"  # 区域管理员（淮北高新区）: the company's region is 340600-P01


def search_demands(page, keyword: str) -> None:
    """Type ``keyword`` into the demand list's search box and wait for htmx to swap in the results."""
    page.goto("/demands/")
    page.get_by_label("关键词").fill(keyword)
    with page.expect_response(lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("button", name="查询", exact=True).click()
    page.wait_for_url(f"**/demands/?q={keyword}")


def status_of(page) -> str:
    return page.locator(".page-head .badge[class*=status-]").inner_text()


def test_enterprise_publishes_a_demand_and_the_public_finds_it(open_page, watch):
    from playwright.sync_api import expect

    token = "BT" + secrets.token_hex(4).upper()  # unique per run: the search must find this one record
    title = f"陶铝活塞激光熔覆修复工艺技术需求 {token}"

    # Given the enterprise's member, logged in on the workspace
    company = open_page()
    log_in(company, COMPANY)

    # When they register a demand through the form and submit it for review
    company.get_by_role("link", name="登记技术需求").click()
    company.get_by_label("需求名称").fill(title)
    company.get_by_label("需求描述").fill("发动机陶铝活塞顶部磨损后需激光熔覆修复，要求结合强度不低于基体的 90%。")
    company.locator("input[name=fields][value=new_materials]").check()
    company.locator("input[name=cooperation_modes][value=co_development]").check()
    company.get_by_label("预算（元）").fill("800000")
    company.get_by_label("所属单位").select_option(label=COMPANY_NAME)
    company.get_by_role("button", name="保存", exact=True).click()

    expect(company.locator("h1")).to_have_text(title)
    expect(company.locator(".messages")).to_have_text("已保存为草稿。确认无误后请“提交审核”。")
    assert status_of(company) == "草稿"
    detail_path = company.url.removeprefix(watch.base_url)
    assert detail_path.startswith("/demands/") and detail_path.endswith("/")

    company.get_by_role("button", name="提交审核", exact=True).click()
    expect(company.locator(".messages")).to_have_text("操作成功：提交审核")
    assert status_of(company) == "待审核"
    # The member cannot approve their own demand.
    assert company.locator(".actions button").all_inner_texts() == []

    # Then the public does not find it while it is under review (also in a full page load, which is cached)
    visitor = open_page()
    search_demands(visitor, token)
    expect(visitor.locator("#results .empty")).to_have_text("没有符合条件的记录。")
    visitor.reload()
    expect(visitor.locator("#results .count")).to_have_text("共 0 条")

    # When the region's administrator, in a fresh context, approves it from the review queue
    reviewer = open_page()
    log_in(reviewer, REVIEWER)
    queue = reviewer.locator("section[aria-labelledby=review-title]")
    queue.get_by_role("link", name=title, exact=True).click()
    reviewer.wait_for_url(f"**{detail_path}")
    assert status_of(reviewer) == "待审核"
    reviewer.get_by_label("审核意见（选填）").fill("需求明确，预算合理，同意发布。")
    reviewer.get_by_role("button", name="审核通过", exact=True).click()
    expect(reviewer.locator(".messages")).to_have_text("操作成功：审核通过")
    assert status_of(reviewer) == "审核通过"

    # And the enterprise publishes it
    company.reload()
    company.get_by_role("button", name="发布", exact=True).click()
    expect(company.locator(".messages")).to_have_text("操作成功：发布")
    assert status_of(company) == "已发布"

    # Then an anonymous visitor finds it by keyword, in the swapped-in results and in a full page load
    search_demands(visitor, token)
    rows = visitor.locator("#results table.records tbody tr")
    expect(rows).to_have_count(1)
    expect(visitor.locator("#results .count")).to_have_text("共 1 条")
    expect(rows.locator("td.title a")).to_have_text(title)
    visitor.reload()
    expect(rows).to_have_count(1)

    # And its page shows the four steps, oldest first, without the people's names
    rows.locator("td.title a").click()
    visitor.wait_for_url(f"**{detail_path}")
    expect(visitor.locator("h1")).to_have_text(title)
    assert status_of(visitor) == "已发布"
    steps = visitor.locator("ol.timeline > li")
    expect(steps).to_have_count(4)
    assert steps.locator(".event-action").all_inner_texts() == ["创建", "提交审核", "审核通过", "发布"]
    assert steps.locator(".transition").all_inner_texts() == [
        "→ 草稿",
        "草稿 → 待审核",
        "待审核 → 审核通过",
        "审核通过 → 已发布",
    ]
    assert steps.locator(".actor").count() == 0
    assert visitor.get_by_text("需求明确，预算合理，同意发布。").count() == 0

    # And the enterprise's own view of the same page names who took each step
    company.reload()
    assert company.locator("ol.timeline > li .actor").all_inner_texts() == ["钱研发", "钱研发", "赵高新", "钱研发"]
    expect(company.locator("ol.timeline > li blockquote")).to_have_text("需求明确，预算合理，同意发布。")

    assert watch.foreign == []
    assert watch.errors == []
