"""Support leads manage staff accounts in the admin too (the workspace's People page already lets
them): view, add and change users, view groups. What a lead may not do there (make anyone a
superuser, edit permissions, touch a superuser's account) is decided by the user admin
(tickets/admin_people.py), not by permissions. Reversible."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

LEAD = "Support lead"
CODENAMES = ["view_user", "add_user", "change_user", "view_group"]


def _lead_and_permissions(apps, db):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    lead = Group.objects.using(db).filter(name=LEAD).first()
    permissions = Permission.objects.using(db).filter(content_type__app_label="auth", codename__in=CODENAMES)
    return lead, permissions


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("auth"), verbosity=0, using=db, apps=apps)
    lead, permissions = _lead_and_permissions(apps, db)
    if lead is not None:
        lead.permissions.add(*permissions)


def revoke(apps, schema_editor):
    lead, permissions = _lead_and_permissions(apps, schema_editor.connection.alias)
    if lead is not None:
        lead.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0011_first_human_response"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
