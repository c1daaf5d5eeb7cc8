"""Load the demo data in ``data/``: idempotent, one transaction, every record with its audit events.

- users: one per role (``users.json``), all with ``DEMO_PASSWORD``;
- organizations (``organizations.json``) through ``organization_create``, with computed GB 32100
  credit codes, certifications and yearly facts;
- achievements: the first ``papers`` suitable CSL papers (``csl_papers_dev.jsonl``, Apache-2.0, see
  ``data/ATTRIBUTION.md``), spread over the research organizations by discipline;
- demands, instruments, experts, commissioners and pilot bases (``<registry slug>.json``);
- the e5 vectors of the demo texts (``vectors-e5.npz``, see ``vectors.py``), into the embedding cache.

Everything is marked ``is_example=True``. A record is created only when no example record with
the same key (the achievement's ``source``, otherwise the kind's title field) exists, and nothing
that exists is changed, so a second run creates and changes nothing.

Records are written with ``bulk_create`` for speed; each still gets the ``create`` event and one
``transition`` event per workflow step that led to its status, as ``core.services`` would write.
"""

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from techtransfer.accounts.models import RoleAssignment, User
from techtransfer.audit.services import log_event
from techtransfer.core import multichoice
from techtransfer.core.choices import RecordStatus
from techtransfer.core.pagecache import bump_content_version
from techtransfer.core.registry import KINDS
from techtransfer.core.services import diff, snapshot
from techtransfer.core.workflow import TRANSITIONS
from techtransfer.organizations import credit_code
from techtransfer.organizations.models import Certification, Membership, Organization, OrganizationFacts
from techtransfer.organizations.services import organization_create
from techtransfer.regions.models import Region

from .vectors import seed_embedding_cache

DATA_DIR = Path(__file__).resolve().parent / "data"
PAPERS_FILE = DATA_DIR / "csl_papers_dev.jsonl"
DEFAULT_PAPERS = 300
# Meets AUTH_PASSWORD_VALIDATORS (≥ 10 characters, 3 of 4 classes); printed by ``make run``.
DEMO_PASSWORD = "Demo-2026-pass"

# CSL category → achievement kind. Humanities, law, education and military papers are left out:
# they are not results an enterprise would take up.
PAPER_KINDS = {
    "工学": "applied",
    "农学": "applied",
    "医学": "applied",
    "理学": "basic",
    "管理学": "soft_science",
    "经济学": "soft_science",
}
# CSL discipline → 高新技术领域, only where the match is obvious; other disciplines stay blank.
DISCIPLINE_FIELDS = {
    "计算机科学与技术": "electronic_information",
    "信息与通信工程": "electronic_information",
    "电子科学与技术": "electronic_information",
    "材料科学与工程": "new_materials",
    "冶金工程": "new_materials",
    "药学": "bio_medicine",
    "中医学/中药学": "bio_medicine",
    "生物学/生物科学与工程": "bio_medicine",
    "航空宇航科学与技术": "aerospace",
    "电气工程": "new_energy",
    "动力工程及工程热物理": "new_energy",
    "核科学与技术": "new_energy",
    "环境科学与工程": "resources_environment",
    "矿业工程": "resources_environment",
    "地质学/地质资源与地质工程": "resources_environment",
    "石油与天然气工程": "resources_environment",
    "机械工程": "advanced_manufacturing",
    "控制科学与工程": "advanced_manufacturing",
}
# Offers the example owners attach to applied results, in turn (the papers say nothing of this).
TRANSFER_OFFERS = [
    (["transfer", "license"], "agreement", "500000"),
    (["license"], "listing", ""),
    (["co_development"], "", ""),
    (["transfer"], "agreement", "1200000"),
    (["equity", "co_development"], "agreement", ""),
]
# Most achievements are published; every twentieth is left at each step so that workspaces have tasks.
PAPER_STATUS_CYCLE = {4: "draft", 9: "submitted", 14: "returned", 19: "approved"}

# The workflow steps that lead from a new draft to each status.
PATHS = {
    RecordStatus.DRAFT: [],
    RecordStatus.SUBMITTED: ["submit"],
    RecordStatus.RETURNED: ["submit", "return"],
    RecordStatus.APPROVED: ["submit", "approve"],
    RecordStatus.PUBLISHED: ["submit", "approve", "publish"],
    RecordStatus.WITHDRAWN: ["submit", "approve", "publish", "withdraw"],
}
RETURN_COMMENT = "请补充应用场景、知识产权情况和联系人信息后重新提交。"
# Who takes each step: the record's writer, or the administrator of its region.
STEP_BY = {"submit": "editor", "return": "reviewer", "approve": "reviewer", "publish": "reviewer", "withdraw": "editor"}

PLATFORM_ADMIN = "demo_admin"
SCOUT = "demo_scout"
UNIVERSITY = "xsu"  # organizations.json key of the university whose technology-transfer office has a demo login
# Registry slug → the field that identifies an example record across runs.
KEY_FIELDS = {"achievements": "source"}
# Who writes a record when its organization has no demo user: scouts bring results and demands in.
DEFAULT_CREATORS = {"achievements": SCOUT, "demands": SCOUT}
CREDIT_CODE_PREFIX = {"university": "12", "research_institute": "12", "government": "11"}  # others: 91


class DemoDataError(Exception):
    pass


@dataclass(frozen=True)
class DemoLogin:
    label: str
    username: str
    password: str


@dataclass
class DemoResult:
    created: Counter
    logins: list


def read_json(name: str):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def read_papers() -> list[dict]:
    with PAPERS_FILE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def organization_code(serial: int) -> str:
    """A 9-character GB 11714 organization code ``MA`` + 6 digits + check character."""
    body = f"MA{serial:06d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code_for(*, kind: str, division_code: str, serial: int) -> str:
    """A valid 统一社会信用代码: registration type, division, organization code, GB 32100 check."""
    first17 = CREDIT_CODE_PREFIX.get(kind, "91") + division_code + organization_code(serial)
    return first17 + credit_code.check_character(first17)


class DemoLoader:
    def __init__(self, *, papers: int):
        self.papers = papers
        self.user_specs = read_json("users.json")
        self.org_specs = read_json("organizations.json")
        self.created = Counter()
        self.now = timezone.now()
        self.regions = Region.objects.in_bulk(field_name="code")
        if not self.regions:
            raise DemoDataError("区域树为空：请先运行 techtransfer load_codes")
        self.users: dict[str, User] = {}
        self.organizations: dict[str, Organization] = {}
        self.org_creators: dict[int, User] = {}
        self.reviewers: dict[int, User] = {}

    def region(self, code: str) -> Region:
        try:
            return self.regions[code]
        except KeyError:
            raise DemoDataError(f"区域树中没有区域 {code}：演示数据按淮北区域树编写") from None

    # -- people ---------------------------------------------------------------------------

    def load_users(self, specs: list[dict]) -> list[DemoLogin]:
        existing = User.objects.in_bulk([s["username"] for s in specs], field_name="username")
        encoded = None  # one Argon2 hash for the one public password: hashing costs ~0.3 s each
        for spec in specs:
            user = existing.get(spec["username"])
            if user is None:
                user = User(
                    username=spec["username"],
                    display_name=spec["display_name"],
                    email=f"{spec['username']}@example.com",
                    is_staff=spec.get("is_staff", False),
                    is_superuser=spec.get("is_superuser", False),
                )
                validate_password(DEMO_PASSWORD, user)
                encoded = encoded or make_password(DEMO_PASSWORD)
                user.password = encoded
                user.save()
                self.created["users"] += 1
            if spec.get("role"):
                region = self.region(spec["region"]) if spec.get("region") else None
                RoleAssignment.objects.get_or_create(user=user, role=spec["role"], region=region)
                if region is not None:
                    self.reviewers[region.pk] = user
            self.users[spec["username"]] = user
        return [DemoLogin(label=s["label"], username=s["username"], password=DEMO_PASSWORD) for s in specs]

    def load_memberships(self, specs: list[dict]) -> None:
        for spec in specs:
            if not spec.get("organization"):
                continue
            user, organization = self.users[spec["username"]], self.organizations[spec["organization"]]
            Membership.objects.get_or_create(
                user=user, organization=organization, defaults={"role": spec["membership"]}
            )
            # Members write their organization's records; a plain member rather than the admin where both exist.
            if spec["membership"] == "member" or organization.pk not in self.org_creators:
                self.org_creators[organization.pk] = user

    # -- organizations --------------------------------------------------------------------

    def load_organizations(self, specs: list[dict]) -> None:
        existing = Organization.objects.in_bulk([s["name"] for s in specs], field_name="name")
        admin = self.users[PLATFORM_ADMIN]
        certificates = set(Certification.objects.values_list("kind", "number"))
        for serial, spec in enumerate(specs, start=1):
            organization = existing.get(spec["name"])
            if organization is None:
                region = self.region(spec["region"])
                division = region.division or region.parent.division  # parks have no GB/T 2260 code
                organization = organization_create(
                    actor=admin,
                    fields={
                        "name": spec["name"],
                        "kind": spec["kind"],
                        "region": region,
                        "division": division,
                        "credit_code": credit_code_for(kind=spec["kind"], division_code=division.code, serial=serial),
                        "address": spec.get("address", ""),
                        "description": spec.get("description", ""),
                        "contact_name": spec.get("contact_name", ""),
                        "contact_phone": spec.get("contact_phone", ""),
                        "contact_email": spec.get("contact_email", ""),
                        "is_example": True,
                    },
                )
                self.created["organizations"] += 1
            self.organizations[spec["key"]] = organization
            self._load_organization_details(organization, spec, certificates)

    def _load_organization_details(self, organization: Organization, spec: dict, certificates: set) -> None:
        years = set(organization.facts.values_list("year", flat=True))
        for facts in spec.get("facts", []):
            if facts["year"] not in years:
                row = OrganizationFacts(organization=organization, **facts)
                row.full_clean()
                row.save()
                self.created["facts"] += 1
        for cert in spec.get("certifications", []):
            if (cert["kind"], cert["number"]) not in certificates:
                row = Certification(organization=organization, **cert)
                row.full_clean()
                row.save()
                self.created["certifications"] += 1

    # -- records --------------------------------------------------------------------------

    def paper_rows(self) -> list[dict]:
        """Achievement rows from the first ``papers`` CSL papers of a useful category."""
        by_discipline = {d: spec["key"] for spec in self.org_specs for d in spec.get("disciplines", [])}
        rows = []
        papers = [p for p in read_papers() if p["category"] in PAPER_KINDS][: self.papers]
        for i, paper in enumerate(papers):
            kind = PAPER_KINDS[paper["category"]]
            # The university works in every discipline; the institutes in theirs.
            org_key = UNIVERSITY if i % 3 == 0 else by_discipline.get(paper["discipline"], UNIVERSITY)
            row = {
                "organization": org_key,
                "status": PAPER_STATUS_CYCLE.get(i % 20, "published"),
                "title": paper["title"],
                "abstract": paper["abstract"],
                "keywords": paper["keywords"],
                "kind": kind,
                "discipline": paper["discipline"],
                "high_tech_field": DISCIPLINE_FIELDS.get(paper["discipline"], ""),
                "owners": [self.organizations[org_key].name],
                "source": f"{paper['source']}#{paper['id']}",
            }
            if kind == "applied":
                modes, pricing, price = TRANSFER_OFFERS[i % len(TRANSFER_OFFERS)]
                row.update({"transfer_modes": modes, "pricing_method": pricing, "asking_price": price or None})
            rows.append(row)
        return rows

    def load_records(self, slug: str, rows: list[dict]) -> None:
        kind = KINDS[slug]
        model = kind.model
        key_field = KEY_FIELDS.get(slug, kind.title_field)
        existing = set(model.objects.filter(is_example=True).values_list(key_field, flat=True))
        pending = []
        for row in rows:
            if row[key_field] in existing:
                continue
            existing.add(row[key_field])
            pending.append(self._build(model, slug, dict(row)))
        model.objects.bulk_create([obj for obj, _steps in pending], batch_size=500)
        for obj, (creator, reviewer) in pending:
            self._log_history(obj, creator=creator, reviewer=reviewer)
        self.created[slug] += len(pending)

    def _build(self, model, slug: str, row: dict):
        organization = self.organizations[row.pop("organization")]
        status = row.pop("status")
        creator = self.org_creators.get(organization.pk) or self.users[DEFAULT_CREATORS.get(slug, PLATFORM_ADMIN)]
        if creator.username == SCOUT and slug == "achievements":
            row["scout"] = creator  # the scout who brought the result in
        if "user" in row:
            row["user"] = self.users[row["user"]]
            if model.objects.filter(user=row["user"]).exists():
                row["user"] = None  # that account already has a profile of its own
            else:
                creator = row["user"]
        if "industry" in row:
            row["industry_id"] = row.pop("industry")
        for name in model.MULTI_CHOICE_FIELDS:
            if isinstance(row.get(name), list):
                row[name] = multichoice.encode(row[name])
        obj = model(
            organization=organization,
            region=organization.region,
            contact_name=organization.contact_name,
            contact_phone=organization.contact_phone,
            contact_email=organization.contact_email,
            is_example=True,
            created_by=creator,
            **row,
        )
        # Field values and the model's clean() (multi-choice values); relations and constraints are the
        # database's to enforce, which saves a query per foreign key and per constraint. This also turns
        # the JSON's strings into dates and decimals.
        relations = [f.name for f in model._meta.fields if f.is_relation]
        obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
        obj.status = status
        if "publish" in PATHS[status]:
            obj.published_at = self.now
        if status == RecordStatus.RETURNED:
            obj.review_comment = RETURN_COMMENT
        reviewer = self.reviewers.get(organization.region_id) or self.users[PLATFORM_ADMIN]
        return obj, (creator, reviewer)

    def _log_history(self, obj, *, creator: User, reviewer: User) -> None:
        """The events ``record_create`` and ``record_transition`` would have written on the way here."""
        as_created = {**snapshot(obj), "status": RecordStatus.DRAFT, "published_at": None, "review_comment": ""}
        log_event(
            actor=creator, action="create", target=obj, to_status=RecordStatus.DRAFT, changes=diff({}, as_created)
        )
        status = RecordStatus.DRAFT
        for action in PATHS[obj.status]:
            transition = TRANSITIONS[action]
            comment = RETURN_COMMENT if action == "return" else ""
            log_event(
                actor=creator if STEP_BY[action] == "editor" else reviewer,
                action="transition",
                target=obj,
                from_status=status,
                to_status=transition.target,
                comment=comment,
                summary=str(transition.action.label),
            )
            status = transition.target

    # -- all ------------------------------------------------------------------------------

    def run(self) -> DemoResult:
        logins = self.load_users(self.user_specs)
        self.load_organizations(self.org_specs)
        self.load_memberships(self.user_specs)
        self.load_records("achievements", self.paper_rows())
        for slug in KINDS:
            if slug != "achievements":
                self.load_records(slug, read_json(f"{slug}.json"))
        if any(self.created.values()):
            bump_content_version()  # cached anonymous pages must show the new records
        return DemoResult(created=self.created, logins=logins)


@transaction.atomic
def demo_load(*, papers: int = DEFAULT_PAPERS) -> DemoResult:
    """Create what is missing of the demo data; returns what was created and the demo logins.

    Once the records are committed, the shipped e5 vectors of their texts go into the embedding cache
    (``vectors.seed_embedding_cache``), so ``index rebuild --with-vectors`` has nothing left to embed.
    """
    result = DemoLoader(papers=papers).run()
    transaction.on_commit(seed_embedding_cache)
    return result
