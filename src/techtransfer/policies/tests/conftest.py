import datetime
from decimal import Decimal

import pytest

from techtransfer.organizations.models import Certification, OrganizationFacts
from techtransfer.policies.models import Notice, PolicyClause
from techtransfer.policies.services import library_sync


@pytest.fixture
def library(db):
    """The shipped rule library as Policy and PolicyClause rows."""
    library_sync()


@pytest.fixture
def acme_new_hte(people):
    """acme: first recognized as 高新技术企业 in 2025, with three years of size data."""
    Certification.objects.create(
        organization=people.acme,
        kind="high_tech_enterprise",
        number="GR202534000123",
        issued_on=datetime.date(2025, 3, 1),
        expires_on=datetime.date(2028, 2, 28),
    )
    for year, revenue, rd in (
        (2023, "30000000", "1500000"),
        (2024, "40000000", "2000000"),
        (2025, "50000000", "2600000"),
    ):
        OrganizationFacts.objects.create(
            organization=people.acme,
            year=year,
            staff=120,
            revenue=Decimal(revenue),
            rd_spend=Decimal(rd),
            assets=Decimal("80000000"),
        )
    return people.acme


@pytest.fixture
def notice(library):
    """An open 快申快享 notice for the instrument-sharing subsidy, 2025 data, closing 2025-06-30."""
    clause = PolicyClause.objects.get(clause_id="huaibei.instrument_sharing_subsidy")
    return Notice.objects.create(
        policy=clause.policy,
        clause=clause,
        title="关于申报2025年度大型科研仪器共享补助的通知",
        period=2025,
        opens_on=datetime.date(2025, 5, 1),
        closes_on=datetime.date(2025, 6, 30),
    )
