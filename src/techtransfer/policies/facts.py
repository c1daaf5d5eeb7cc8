"""From what the platform holds about an enterprise to the engine's facts (``policy/library/facts.yaml``).

Sources: ``OrganizationFacts`` (annual size data), ``Certification`` (高新技术企业, 科技型中小企业) and the
organization's published pilot bases. A fact the platform does not hold is left out, so the engine reports
it as missing (缺少事实) instead of guessing; in particular 科技人员比例, 注册年限, 核心知识产权, 评价得分 and the
spending facts are never inferred (研发人员 are not 科技人员, for instance).
"""

from collections import defaultdict

from techtransfer.core.choices import RecordStatus
from techtransfer.organizations.choices import CertificationKind
from techtransfer.organizations.models import Certification, OrganizationFacts
from techtransfer.pilotbases.choices import RecognitionLevel
from techtransfer.pilotbases.models import PilotBase

LEVEL_RANK = {
    RecognitionLevel.NATIONAL: 3,
    RecognitionLevel.PROVINCIAL: 2,
    RecognitionLevel.MUNICIPAL: 1,
    RecognitionLevel.NONE: 0,
}


def _three_year_sum(by_year: dict, field: str, period: int):
    values = [getattr(by_year[y], field) if y in by_year else None for y in (period - 2, period - 1, period)]
    return sum(values) if all(v is not None for v in values) else None


def facts_for_organizations(organization_ids: list[int], period: int) -> dict[int, dict]:
    """``{organization id: {fact: value}}`` for the period (a year), in three queries whatever the count."""
    annual: dict[int, dict] = defaultdict(dict)
    for row in OrganizationFacts.objects.filter(
        organization_id__in=organization_ids, year__in=(period - 2, period - 1, period)
    ):
        annual[row.organization_id][row.year] = row
    certs: dict[int, list] = defaultdict(list)
    for cert in Certification.objects.filter(organization_id__in=organization_ids).only(
        "organization_id", "kind", "year", "issued_on"
    ):
        certs[cert.organization_id].append(cert)
    bases: dict[int, list] = defaultdict(list)
    for base in PilotBase.objects.filter(organization_id__in=organization_ids, status=RecordStatus.PUBLISHED).only(
        "organization_id", "level", "recognized_on"
    ):
        bases[base.organization_id].append(base)

    out = {}
    for org_id in organization_ids:
        facts: dict = {}
        by_year = annual.get(org_id, {})
        current = by_year.get(period)
        if current is not None:
            for name in ("staff", "revenue", "assets"):
                value = getattr(current, name)
                if value is not None:
                    facts[name] = value
        rd_3y = _three_year_sum(by_year, "rd_spend", period)
        sales_3y = _three_year_sum(by_year, "revenue", period)
        if rd_3y is not None and sales_3y is not None:
            facts["rd_spend_3y"] = rd_3y
            facts["sales_3y"] = sales_3y

        sme_years = sorted(c.year for c in certs.get(org_id, []) if c.kind == CertificationKind.TECH_SME and c.year)
        if sme_years:
            facts["tech_sme_registered_year"] = sme_years[0]
            if period in sme_years:
                facts["is_tech_sme"] = True
        hte_years = sorted(
            (c.issued_on.year if c.issued_on else c.year)
            for c in certs.get(org_id, [])
            if c.kind == CertificationKind.HIGH_TECH_ENTERPRISE and (c.issued_on or c.year)
        )
        if hte_years:
            facts["newly_recognized_hte_year"] = hte_years[0]

        org_bases = bases.get(org_id)
        if org_bases:
            best = max(org_bases, key=lambda b: (LEVEL_RANK.get(b.level, 0), b.recognized_on is not None))
            facts["pilot_base_level"] = best.level
            if best.recognized_on is not None:
                facts["pilot_base_recognized_year"] = best.recognized_on.year
        out[org_id] = facts
    return out


def facts_for_organization(organization, period: int) -> dict:
    return facts_for_organizations([organization.pk], period)[organization.pk]
