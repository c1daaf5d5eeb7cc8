"""SQLite only: bigram FTS5 indexes for keyword search (see core/search.py)."""

from django.db import migrations

from techtransfer.core.search import sqlite_index_statements

# Frozen here: the tables and searched fields as of this migration.
INDEXES = [
    ("achievements", "achievements_achievement", ("title", "abstract", "keywords")),
    ("demands", "demands_demand", ("title", "description")),
    ("experts", "experts_expert", ("name", "expertise", "discipline", "title")),
    ("commissioners", "experts_commissioner", ("name", "expertise", "dispatch_unit", "served_enterprise")),
    ("instruments", "instruments_instrument", ("name", "model_number", "maker", "capabilities")),
    ("pilotbases", "pilotbases_pilotbase", ("name", "capabilities")),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for slug, table, fields in INDEXES:
        for sql in sqlite_index_statements(slug, table, fields)[0]:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for slug, table, fields in INDEXES:
        for sql in sqlite_index_statements(slug, table, fields)[1]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_contentversion"),
        ("achievements", "0001_initial"),
        ("demands", "0001_initial"),
        ("experts", "0001_initial"),
        ("instruments", "0001_initial"),
        ("pilotbases", "0001_initial"),
    ]
    operations = [migrations.RunPython(create, drop)]
