"""The support roles (tickets/0002) get the email channel's models: leads every permission (they
configure mailboxes, retry and discard mail), agents may view the ingest and outbound logs."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_CODENAMES = ["view_inboundmail", "view_outboundmail", "view_addressstatus"]


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("mail"), verbosity=0, using=db, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    mail_perms = Permission.objects.using(db).filter(content_type__app_label="mail")
    for group in Group.objects.using(db).filter(name="Support lead"):
        group.permissions.add(*mail_perms)
    for group in Group.objects.using(db).filter(name="Support agent"):
        group.permissions.add(*mail_perms.filter(codename__in=AGENT_CODENAMES))


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    mail_perms = Permission.objects.using(db).filter(content_type__app_label="mail")
    for group in Group.objects.using(db).filter(name__in=["Support lead", "Support agent"]):
        group.permissions.remove(*mail_perms)


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial"), ("tickets", "0002_support_roles")]
    operations = [migrations.RunPython(grant, revoke)]
