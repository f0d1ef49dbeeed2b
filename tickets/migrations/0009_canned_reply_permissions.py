"""Support leads manage canned replies in the admin too: the new model's permissions join the lead
group of 0002 (which got the permissions that existed then). Reversible."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

LEAD = "Support lead"
CODENAMES = ["add_cannedreply", "change_cannedreply", "delete_cannedreply", "view_cannedreply"]


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("tickets"), verbosity=0, using=db, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    lead = Group.objects.using(db).filter(name=LEAD).first()
    if lead is not None:
        lead.permissions.add(
            *Permission.objects.using(db).filter(content_type__app_label="tickets", codename__in=CODENAMES)
        )


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    lead = Group.objects.using(db).filter(name=LEAD).first()
    if lead is not None:
        lead.permissions.remove(
            *Permission.objects.using(db).filter(content_type__app_label="tickets", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_canned_replies"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
