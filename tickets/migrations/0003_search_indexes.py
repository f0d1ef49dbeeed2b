"""A GIN full-text index on ticket subjects for the staff inbox's keyword search.

PostgreSQL only (SQLite falls back to icontains). Same expression as tickets.selectors uses.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(SearchVector("subject", config="english"), name="ticket_subject_fts")


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("tickets", "Ticket"), INDEX)


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("tickets", "Ticket"), INDEX)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_support_roles")]

    operations = [migrations.RunPython(add_index, remove_index, elidable=False)]
