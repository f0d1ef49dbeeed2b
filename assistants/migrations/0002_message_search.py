"""A GIN full-text index on message bodies for the staff inbox's keyword search.

PostgreSQL only: SQLite has no GIN indexes (the inbox falls back to icontains there). The index
expression is built by the same SearchVector that tickets.selectors uses in its queries, so the
planner matches them.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(SearchVector("body", config="english"), name="message_body_fts")


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("assistants", "Message"), INDEX)


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("assistants", "Message"), INDEX)


class Migration(migrations.Migration):
    dependencies = [("assistants", "0001_initial")]

    operations = [migrations.RunPython(add_index, remove_index, elidable=False)]
