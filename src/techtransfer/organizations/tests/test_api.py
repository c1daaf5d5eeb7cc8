"""``/api/v1/organizations``: who sees which organization, and whose contacts are masked."""

import pytest

from techtransfer.core.tests.factories import OrganizationFactory, region

MASKED = {"contact_phone": "139****5678", "contact_email": "c***@example.com"}
CLEAR = {"contact_phone": "13912345678", "contact_email": "contact@example.com"}


def login(client, people, who):
    if getattr(people, who) is not None:
        client.force_login(getattr(people, who))


@pytest.fixture
def hidden(people):
    """An organization that does not show itself to the public, in 相山区."""
    return OrganizationFactory(name="未公开的研究所", kind="research_institute", is_public=False)


@pytest.mark.parametrize(
    "who,acme_contacts,rival_contacts",
    [
        ("anonymous", MASKED, MASKED),
        ("acme_member", MASKED, MASKED),  # members see their organization; only its administrators manage it
        ("acme_admin", CLEAR, MASKED),
        ("xiangshan_admin", CLEAR, MASKED),
        ("suixi_admin", MASKED, CLEAR),
        ("platform_admin", CLEAR, CLEAR),
    ],
)
def test_contacts_masked_unless_manageable(people, client, who, acme_contacts, rival_contacts):
    login(client, people, who)

    results = client.get("/api/v1/organizations").json()["results"]
    detail = client.get(f"/api/v1/organizations/{people.acme.pk}").json()

    by_id = {r["id"]: {k: r[k] for k in CLEAR} for r in results}
    assert by_id[people.acme.pk] == acme_contacts
    assert by_id[people.rival.pk] == rival_contacts
    assert {k: detail[k] for k in CLEAR} == acme_contacts


@pytest.mark.parametrize(
    "who,sees",
    [
        ("anonymous", False),
        ("rival_member", False),
        ("suixi_admin", False),
        ("xiangshan_admin", True),
        ("platform_admin", True),
    ],
)
def test_a_private_organization_is_404_to_outsiders(people, client, hidden, who, sees):
    login(client, people, who)

    detail = client.get(f"/api/v1/organizations/{hidden.pk}")
    names = [r["name"] for r in client.get("/api/v1/organizations").json()["results"]]

    assert detail.status_code == (200 if sees else 404)
    assert ("未公开的研究所" in names) == sees


def test_organization_fields(people, client):
    body = client.get(f"/api/v1/organizations/{people.acme.pk}").json()
    assert {k: body[k] for k in ("id", "name", "kind", "kind_label", "region", "credit_code", "is_example")} == {
        "id": people.acme.pk,
        "name": "淮北示例陶铝科技有限公司",
        "kind": "enterprise",
        "kind_label": "企业",
        "region": {"code": "340603", "name": "相山区"},
        "credit_code": None,
        "is_example": False,
    }


def test_organization_filters_and_pages(people, client):
    OrganizationFactory(name="淮北师范大学示例", kind="university", region=region("340602"))

    def names(query):
        return [r["name"] for r in client.get(f"/api/v1/organizations?{query}").json()["results"]]

    assert names("kind=university") == ["淮北师范大学示例"]
    assert names("region=340621") == ["濉溪示例锂电有限公司"]
    assert names("q=陶铝") == ["淮北示例陶铝科技有限公司"]
    assert len(names("region=340600")) == 3
    page = client.get("/api/v1/organizations?page_size=2&page=2").json()
    assert (page["count"], page["page"], len(page["results"])) == (3, 2, 1)
    assert client.get("/api/v1/organizations?kind=bank").status_code == 400
