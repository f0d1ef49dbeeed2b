"""The inbox's default order, updated_at then id (the keyset's tie-break), read straight off one
index: PostgreSQL stops after a page of rows instead of joining every row of the newest updated_at
values and sorting them (at 100,000 tickets: 4.5-6.4 ms -> 0.9 ms for the first page's query)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_lead_staff_accounts_in_admin")]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_updated"),
        migrations.AddIndex(
            model_name="ticket", index=models.Index(fields=["-updated_at", "-id"], name="ticket_updated_id")
        ),
    ]
