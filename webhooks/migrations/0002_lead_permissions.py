"""Support leads manage webhooks in the admin and read the redaction audit log (both models came
after the roles migration, tickets/0002, which granted leads what existed then). Reversible."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

LEAD = "Support lead"


def _permissions(apps, db):
    for label in ("assistants", "webhooks"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=db, apps=apps)
    Permission = apps.get_model("auth", "Permission")
    webhooks = Permission.objects.using(db).filter(content_type__app_label="webhooks")
    audit = Permission.objects.using(db).filter(content_type__app_label="assistants", codename="view_redaction")
    return list(webhooks) + list(audit)


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    lead = apps.get_model("auth", "Group").objects.using(db).filter(name=LEAD).first()
    if lead is not None:
        lead.permissions.add(*_permissions(apps, db))


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    lead = apps.get_model("auth", "Group").objects.using(db).filter(name=LEAD).first()
    if lead is not None:
        lead.permissions.remove(*_permissions(apps, db))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_outgoing_webhooks"),
        ("assistants", "0005_message_redaction"),
        ("tickets", "0002_support_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
