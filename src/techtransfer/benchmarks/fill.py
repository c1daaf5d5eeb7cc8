"""Fill a scratch database for ``bench portal``: ``python -m techtransfer.benchmarks.fill N``.

Prints one JSON object: the counts, some published ids, the fields and search terms to query,
and a session cookie of a logged-in enterprise member.
"""

import json
import random
import re
import sys
from datetime import timedelta
from decimal import Decimal

import django


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；.;])", text) if s.strip()]


def main(records: int) -> dict:
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from techtransfer.accounts.models import User
    from techtransfer.achievements.models import Achievement
    from techtransfer.core.choices import CooperationMode, HighTechField
    from techtransfer.core.models import IndustryCode
    from techtransfer.demands.models import Demand
    from techtransfer.demo.loader import read_papers
    from techtransfer.organizations.models import Membership, Organization
    from techtransfer.regions.models import Region

    rng = random.Random(2026)
    papers = read_papers()
    regions = list(Region.objects.all())
    industries = list(IndustryCode.objects.filter(level=4).values_list("code", flat=True))
    fields = list(HighTechField.values)
    modes = list(CooperationMode.values)
    now = timezone.now()

    n_orgs = max(1, records // 100)
    with transaction.atomic():
        Organization.objects.bulk_create(
            [
                Organization(
                    name=f"基准测试单位{i:06d}",
                    kind="enterprise" if i % 4 else "university",
                    region=rng.choice(regions),
                )
                for i in range(n_orgs)
            ],
            batch_size=2000,
        )
    orgs = list(Organization.objects.values_list("id", "region_id"))

    def multi(values, k):
        return "," + ",".join(rng.sample(values, k)) + ","

    batch = []
    for i in range(records):
        a, b = rng.choice(papers), rng.choice(papers)
        org_id, region_id = orgs[i % len(orgs)]
        abstract = "".join(sentences(a["abstract"])[:3] + sentences(b["abstract"])[-2:])
        status = "published" if i % 10 else rng.choice(["draft", "submitted", "returned"])
        batch.append(
            Achievement(
                title=f"{a['title']}（{i}）",
                abstract=abstract,
                keywords=list(dict.fromkeys(a["keywords"][:3] + b["keywords"][:2])),
                discipline=a.get("discipline", ""),
                high_tech_field=rng.choice(fields),
                industry_id=rng.choice(industries),
                readiness_level=rng.randint(1, 9),
                stage=rng.choice(["early", "middle", "mature"]),
                transfer_modes=multi(modes, rng.randint(1, 2)),
                asking_price=Decimal(rng.randrange(10_000, 5_000_000_00)) / 100,
                organization_id=org_id,
                region_id=region_id,
                status=status,
                published_at=now - timedelta(minutes=records - i) if status == "published" else None,
                contact_name="联系人",
                contact_phone="139" + f"{i:08d}"[-8:],
                source=f"bench:{a['id']}+{b['id']}",
            )
        )
        if len(batch) == 5000:
            Achievement.objects.bulk_create(batch)
            batch = []
    Achievement.objects.bulk_create(batch)

    demands = []
    for i in range(records // 5):
        a = rng.choice(papers)
        org_id, region_id = orgs[i % len(orgs)]
        demands.append(
            Demand(
                title=f"寻求{a['keywords'][0] if a['keywords'] else a['title'][:10]}相关技术（{i}）",
                description="".join(sentences(a["abstract"])[:2]),
                fields=multi(fields, 1),
                industry_id=rng.choice(industries),
                budget=Decimal(rng.randrange(100_000, 10_000_000)),
                cooperation_modes=multi(modes, 1),
                is_bottleneck=i % 17 == 0,
                organization_id=org_id,
                region_id=region_id,
                status="published" if i % 10 else "draft",
                published_at=now - timedelta(minutes=records - i) if i % 10 else None,
            )
        )
    Demand.objects.bulk_create(demands, batch_size=5000)

    user = User.objects.create_user(username="bench_member", password="Bench-member-2026")
    Membership.objects.create(user=user, organization_id=orgs[0][0], role="member")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()

    from techtransfer.core.dbmaintenance import database_optimize

    database_optimize()
    published = list(Achievement.objects.filter(status="published").values_list("id", flat=True)[:5000])
    keyword_pool = [k for p in papers[:200] for k in p["keywords"][:1] if 2 <= len(k) <= 6]
    return {
        "achievements": records,
        "demands": len(demands),
        "organizations": n_orgs,
        "published_ids": published,
        "fields": fields,
        "search_terms": list(dict.fromkeys(keyword_pool))[:40],
        "session_cookie": f"sessionid={session.session_key}",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1])), ensure_ascii=False))
