"""Prefix indexes on customers' email and names for the staff inbox's search ("carol", "carol@").

PostgreSQL only (SQLite scans its few rows). The expressions are the ones Django's istartswith
lookup writes on PostgreSQL, UPPER(column::text) LIKE UPPER('carol%'), so the planner uses them.
"""

from django.db import migrations

COLUMNS = ("email", "first_name", "last_name")


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS user_{column}_prefix ON auth_user ((UPPER("{column}"::text)) text_pattern_ops)'
            )


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(f"DROP INDEX IF EXISTS user_{column}_prefix")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_assistant_reply_review"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(add_indexes, remove_indexes, elidable=False)]
