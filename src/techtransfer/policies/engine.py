"""The bridge to the rules engine: the shipped library plus the policies and staff-written clauses in the database.

Staff-written clauses are checked by the engine itself (``Library.validate_clause``); an engine ``RuleError``
becomes a ``ServiceError`` whose details name the form fields, in the engine's Chinese.
"""

import threading
from dataclasses import replace

from django.db import connection

from techtransfer.core.errors import ServiceError
from techtransfer.policy import Library, RuleError, RuleErrorCode, default_library
from techtransfer.policy.library import Level
from techtransfer.policy.library import Policy as EnginePolicy
from techtransfer.policy.params import Source

from .choices import PolicyErrorCode
from .models import Policy, PolicyClause

# The last part of an engine error's field path → the form field it belongs to.
FIELD_SUFFIXES = {
    "condition": "condition",
    "amount": "amount",
    "cap": "cap",
    "from": "effective_from",
    "to": "effective_to",
    "source": "source_article",
    "entity": "entity",
    "track": "track",
    "applied_on": "applied_on",
}


def engine_policy(policy: Policy) -> EnginePolicy:
    return EnginePolicy(
        id=policy.engine_id,
        title=policy.title,
        source=Source(document=f"《{policy.title}》", number=policy.document_number, issuer=policy.issuer),
        level=Level(policy.level),
        valid_from=policy.valid_from,
        valid_to=policy.valid_to,
        summary=policy.summary,
        defined_in="database",
    )


def clause_data(clause: PolicyClause) -> dict:
    """A staff-written clause in the form the engine validates (keys left out take the policy's defaults)."""
    data = {
        "id": clause.clause_id,
        "title": clause.title,
        "entity": clause.entity,
        "track": clause.track,
        "benefit": clause.benefit,
        "source": {"article": clause.source_article, "quote": clause.source_quote},
        "condition": clause.condition,
    }
    if clause.amount.strip():
        data["amount"] = clause.amount
    if clause.cap.strip():
        data["cap"] = clause.cap
    if clause.effective_from is not None:
        data["from"] = clause.effective_from
    if clause.effective_to is not None:
        data["to"] = clause.effective_to
    return data


def rule_error_details(exc: RuleError) -> dict:
    details: dict[str, list[str]] = {}
    for where, messages in exc.details.items():
        last = where.rsplit(".", 1)[-1].split("[", 1)[0]
        field = FIELD_SUFFIXES.get(last, "__all__")
        for message in messages:
            details.setdefault(field, [])
            if message not in details[field]:
                details[field].append(message)
    return details or {"__all__": [exc.message]}


def service_error(exc: RuleError) -> ServiceError:
    code = PolicyErrorCode.NOT_IN_FORCE if exc.code is RuleErrorCode.NOT_IN_FORCE else PolicyErrorCode.RULE_INVALID
    return ServiceError(code, exc.message, rule_error_details(exc))


def _with_policies(base: Library, policies) -> Library:
    known = dict(base.policies)
    for policy in policies:
        known.setdefault(policy.engine_id, engine_policy(policy))
    return replace(base, policies=known)


def validate(clause: PolicyClause, *, base: Library | None = None) -> Library:
    """The library with ``clause`` in it, checked by the engine; raises ``ServiceError`` with Chinese details."""
    library = _with_policies(base or default_library(), [clause.policy])
    try:
        if not clause.is_staff_written:
            library.clause(clause.clause_id)  # a shipped clause must exist in the library
            return library
        return library.with_clause(library.validate_clause(clause_data(clause), policy_id=clause.policy.engine_id))
    except RuleError as exc:
        raise service_error(exc) from exc


def build_library() -> Library:
    """The shipped library with every policy of the database and every staff-written clause applied."""
    library = _with_policies(default_library(), Policy.objects.all())
    for clause in PolicyClause.objects.filter(condition__gt="").select_related("policy").order_by("pk"):
        library = validate(clause, base=library)
    return library


def library_version() -> tuple:
    """A cheap stamp of the rows ``build_library`` reads, in one query.

    Every write of a policy or clause saves its row (``updated_at`` is ``auto_now``) and rows are never deleted
    (``PROTECT``), so the counts and latest update times change whenever the library does, whichever process
    wrote. The shipped library's identity is part of it, so a reloaded ``default_library`` is seen too.
    """
    quote = connection.ops.quote_name
    parts = []
    for model in (Policy, PolicyClause):
        table, updated = quote(model._meta.db_table), quote(model._meta.get_field("updated_at").column)
        parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX({updated}) FROM {table})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}")
        row = cursor.fetchone()
    return (id(default_library()), connection.alias, *(str(v) for v in row))


_cache_lock = threading.Lock()
_cached: tuple[tuple, Library] | None = None


def current_library() -> Library:
    """``build_library()``, rebuilt (and re-validated) only when ``library_version()`` has changed.

    Kept per process; the version query runs on every call, so an edit committed by any worker is seen by the
    next call here. A ``Library`` is never changed in place (``with_clause`` makes a new one), so sharing it
    between threads is safe.
    """
    global _cached
    version = library_version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    library = build_library()
    with _cache_lock:
        _cached = (version, library)
    return library
