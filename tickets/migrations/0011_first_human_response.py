"""Ticket.first_human_response_at: the first public reply a person sent (first_response_at counts
the assistant's). Filled from the history: the earliest public reply written by a person, or a
draft a person approved. The dashboard's index gains the column so its window stays index-only."""

from django.conf import settings
from django.db import migrations, models

BACKFILL = """
    UPDATE tickets_ticket SET first_human_response_at = (
        SELECT MIN(COALESCE(m.published_at, m.created_at)) FROM assistants_message m
        WHERE m.thread_id = tickets_ticket.thread_id AND m.role = 'assistant' AND m.visibility = 'public'
          AND m.draft_state IN ('', 'published')
          AND (m.published_by_id IS NOT NULL OR (m.author_id IS NOT NULL AND m.run_id IS NULL))
    )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("assistants", "0004_knowledge_passages"),
        ("tickets", "0010_live_changes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_created_times",
        ),
        migrations.AddField(
            model_name="ticket",
            name="first_human_response_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["created_at", "first_response_at", "resolved_at", "feedback_rating", "first_human_response_at"],
                name="ticket_created_times",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
