"""Planner statistics. Without them SQLite answers a signed-in user's list ("published OR mine,
newest first") by collecting every visible row and sorting it (~300 ms at 100k records); with
them it walks the publication-order index and stops after one page (~1 ms)."""

from django.db import connection


def database_optimize() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A full ANALYZE (about 0.3 s at 100k records); sampled statistics
            # (analysis_limit) misjudge the status index and bring the slow plan back.
            cursor.execute("PRAGMA analysis_limit=0")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return connection.vendor
