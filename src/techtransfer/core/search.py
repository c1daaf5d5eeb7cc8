"""Keyword search over the registries: every term must occur in the record's searched fields.

On PostgreSQL (and for one-character terms) this is a case-insensitive ``LIKE`` on each field.
On SQLite, the embedded default, a ``LIKE`` scan costs about 5 ms per thousand records, so each
registry has an FTS5 table of character bigrams (``search_<slug>``), kept in step by triggers
that call ``tt_bigrams()``, a function registered on every connection. A term becomes a phrase
of its bigrams, which matches exactly the records that contain the term as a substring: the
same answer as ``LIKE``, found through an index.
"""

import re
from functools import reduce
from operator import and_

from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.dispatch import receiver

WORD_RUN = re.compile(r"[^\W_]+", re.UNICODE)


def bigrams(text: str | None) -> str:
    """``"复合材料 SU8010"`` → ``"复合 合材 材料 su u8 80 01 10"``: one token per pair of neighbours."""
    tokens = []
    for run in WORD_RUN.findall((text or "").lower()):
        if len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return " ".join(tokens)


def fts_table(slug: str) -> str:
    return f"search_{slug}"


def _like_q(fields, term: str) -> Q:
    any_field = Q()
    for name in fields:
        any_field |= Q(**{f"{name}__icontains": term})
    return any_field


def _fts_phrases(term: str) -> list[str] | None:
    runs = WORD_RUN.findall(term.lower())
    if not runs or any(len(r) < 2 for r in runs):
        return None  # one-character pieces are not in the bigram index as substrings
    return ['"' + bigrams(r) + '"' for r in runs]


def keyword_q(kind, q: str) -> Q:
    terms = q.split()
    if not terms:
        return Q()
    if connection.vendor != "sqlite":
        return reduce(and_, (_like_q(kind.search_fields, t) for t in terms))
    conditions = []
    phrases = []
    for term in terms:
        fts = _fts_phrases(term)
        if fts is None:
            conditions.append(_like_q(kind.search_fields, term))
        else:
            phrases.extend(fts)
    if phrases:
        table = fts_table(kind.slug)
        sql = f"SELECT rowid FROM {table} WHERE {table} MATCH %s"  # noqa: S608 (table name is ours)
        conditions.append(Q(pk__in=RawSQL(sql, [" AND ".join(phrases)])))
    return reduce(and_, conditions)


@receiver(connection_created)
def register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("tt_bigrams", 1, bigrams, deterministic=True)


def sqlite_index_statements(slug: str, db_table: str, fields: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The SQL that creates (and drops) the bigram index of one registry table."""
    table = fts_table(slug)
    text = " || ' ' || ".join(f"coalesce({{row}}.{f}, '')" for f in fields)
    new = text.format(row="new")
    changed = " OR ".join(f"new.{f} IS NOT old.{f}" for f in fields)
    create = [
        f"CREATE VIRTUAL TABLE {table} USING fts5(tokens, tokenize='unicode61')",
        f"INSERT INTO {table}(rowid, tokens) SELECT id, tt_bigrams({text.format(row=db_table)}) FROM {db_table}",
        f"CREATE TRIGGER {table}_ai AFTER INSERT ON {db_table} BEGIN "
        f"INSERT INTO {table}(rowid, tokens) VALUES (new.id, tt_bigrams({new})); END",
        f"CREATE TRIGGER {table}_ad AFTER DELETE ON {db_table} BEGIN DELETE FROM {table} WHERE rowid = old.id; END",
        f"CREATE TRIGGER {table}_au AFTER UPDATE ON {db_table} WHEN {changed} "
        f"BEGIN UPDATE {table} SET tokens = tt_bigrams({new}) WHERE rowid = new.id; END",
    ]
    drop = [f"DROP TRIGGER IF EXISTS {table}_{s}" for s in ("ai", "ad", "au")] + [f"DROP TABLE IF EXISTS {table}"]
    return create, drop
