"""Database triggers that refuse UPDATE and DELETE of audit rows, whatever the caller.

TRUNCATE stays possible for the database owner (test flushes, a deliberate purge by the DBA).
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_event_no_update;", "DROP TRIGGER IF EXISTS audit_event_no_delete;"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
]


def statements(schema_editor, forward: bool) -> list[str]:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        return SQLITE if forward else SQLITE_DROP
    if vendor == "postgresql":
        return POSTGRES if forward else POSTGRES_DROP
    return []


def create(apps, schema_editor):
    for sql in statements(schema_editor, True):
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in statements(schema_editor, False):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
