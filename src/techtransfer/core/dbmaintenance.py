"""Planner statistics. Without them SQLite answers a signed-in user's list ("published OR mine,
newest first") by collecting every visible row and sorting it (~300 ms at 100k records); with
them it walks the publication-order index and stops after one page (~1 ms)."""

from django.db import connection


def database_optimize() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Sample at most 1,000 rows per index: approximate statistics, in well under a second.
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return connection.vendor
