"""Ticket counts kept by the database, and an index for the dashboard's recent window.

TicketCount holds one row per (status, escalated, assignee) with the number of tickets that
have it. Triggers on tickets_ticket keep it exact on every insert, delete and update of those
three columns, whatever wrote the ticket (services, queryset updates, the admin, COPY), in the
writing transaction. The inbox chips and the dashboard then sum a few hundred rows instead of
counting every ticket (a full index scan, ~15 ms at 100,000 tickets and growing with them).

An increment is an upsert; a decrement is a plain UPDATE (it never creates a row), so the table
stays consistent when both tables are emptied row by row (SQLite's flush). On PostgreSQL a move
from one key to another touches the two counter rows in key order, so two transactions moving
tickets in opposite directions (open -> pending, pending -> open) cannot deadlock.
"""

from django.db import migrations, models

POSTGRES = [
    """
    CREATE FUNCTION tickets_ticket_count() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        old_key text;
        new_key text;
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            old_key := OLD.status || '/' || OLD.escalated || '/' || COALESCE(OLD.assignee_id, 0);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            new_key := NEW.status || '/' || NEW.escalated || '/' || COALESCE(NEW.assignee_id, 0);
        END IF;
        IF new_key IS NOT NULL AND (old_key IS NULL OR new_key < old_key) THEN
            INSERT INTO tickets_ticketcount AS c (status, escalated, assignee_id, n)
            VALUES (NEW.status, NEW.escalated, COALESCE(NEW.assignee_id, 0), 1)
            ON CONFLICT (status, escalated, assignee_id) DO UPDATE SET n = c.n + 1;
            new_key := NULL;
        END IF;
        IF old_key IS NOT NULL THEN
            UPDATE tickets_ticketcount SET n = n - 1
            WHERE status = OLD.status AND escalated = OLD.escalated AND assignee_id = COALESCE(OLD.assignee_id, 0);
        END IF;
        IF new_key IS NOT NULL THEN
            INSERT INTO tickets_ticketcount AS c (status, escalated, assignee_id, n)
            VALUES (NEW.status, NEW.escalated, COALESCE(NEW.assignee_id, 0), 1)
            ON CONFLICT (status, escalated, assignee_id) DO UPDATE SET n = c.n + 1;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ticket_count_insert_delete AFTER INSERT OR DELETE ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_count()
    """,
    """
    CREATE TRIGGER ticket_count_update AFTER UPDATE OF status, escalated, assignee_id ON tickets_ticket
    FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status
        OR OLD.escalated IS DISTINCT FROM NEW.escalated
        OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
    ) EXECUTE FUNCTION tickets_ticket_count()
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS ticket_count_update ON tickets_ticket",
    "DROP TRIGGER IF EXISTS ticket_count_insert_delete ON tickets_ticket",
    "DROP FUNCTION IF EXISTS tickets_ticket_count()",
]

_SQLITE_ADD = """
    INSERT INTO tickets_ticketcount (status, escalated, assignee_id, n)
    VALUES (NEW.status, NEW.escalated, COALESCE(NEW.assignee_id, 0), 1)
    ON CONFLICT (status, escalated, assignee_id) DO UPDATE SET n = n + 1;
"""
_SQLITE_REMOVE = """
    UPDATE tickets_ticketcount SET n = n - 1
    WHERE status = OLD.status AND escalated = OLD.escalated AND assignee_id = COALESCE(OLD.assignee_id, 0);
"""
SQLITE = [
    f"CREATE TRIGGER ticket_count_insert AFTER INSERT ON tickets_ticket BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER ticket_count_delete AFTER DELETE ON tickets_ticket BEGIN {_SQLITE_REMOVE} END",
    f"""
    CREATE TRIGGER ticket_count_update AFTER UPDATE OF status, escalated, assignee_id ON tickets_ticket
    WHEN OLD.status IS NOT NEW.status OR OLD.escalated IS NOT NEW.escalated OR OLD.assignee_id IS NOT NEW.assignee_id
    BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ticket_count_update",
    "DROP TRIGGER IF EXISTS ticket_count_delete",
    "DROP TRIGGER IF EXISTS ticket_count_insert",
]

# Run after the triggers exist (on PostgreSQL, CREATE TRIGGER waits for the writers in flight
# and holds new ones off until this migration commits, so no ticket is missed or counted twice).
BACKFILL = """
    INSERT INTO tickets_ticketcount (status, escalated, assignee_id, n)
    SELECT status, escalated, COALESCE(assignee_id, 0), COUNT(*) FROM tickets_ticket GROUP BY 1, 2, 3
"""


def _run(schema_editor, statements) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"ticket count triggers are written for PostgreSQL and SQLite, not {vendor}")
    _run(schema_editor, POSTGRES if vendor == "postgresql" else SQLITE)
    _run(schema_editor, [BACKFILL])


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRES_REVERSE if vendor == "postgresql" else SQLITE_REVERSE)
    _run(schema_editor, ["DELETE FROM tickets_ticketcount"])


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_search_indexes")]

    operations = [
        migrations.CreateModel(
            name="TicketCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=10)),
                ("escalated", models.BooleanField()),
                (
                    "assignee_id",
                    models.IntegerField(help_text="0 for unassigned (NULLs would not be unique on SQLite)."),
                ),
                ("n", models.IntegerField(default=0)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.AddConstraint(
            model_name="ticketcount",
            constraint=models.UniqueConstraint(fields=("status", "escalated", "assignee_id"), name="ticket_count_key"),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["created_at", "first_response_at", "resolved_at", "feedback_rating"],
                name="ticket_created_times",
            ),
        ),
        # Last: SQLite rebuilds a table to alter a column (the AlterField above), and the
        # rebuild drops its triggers. A later migration that alters tickets_ticket on SQLite must
        # create them again (test_counts_match_a_recount_after_every_kind_of_write would fail).
        migrations.RunPython(add_triggers, remove_triggers, elidable=False),
    ]
