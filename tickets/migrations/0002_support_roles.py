"""The two support roles, as groups with permissions (reversible).

Support agent: the staff workspace; view and change tickets and threads, add messages; no deletes.
Support lead: the admin; every permission on the help-desk and assistant models, plus the
lifecycle actions (archive, delete remote conversations).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT = "Support agent"
LEAD = "Support lead"
APPS = ("tickets", "assistants")
LIFECYCLE = ("manage_thread_lifecycle", "Can archive threads and delete remote conversations")

AGENT_PERMISSIONS = {
    "tickets": ["view_ticket", "change_ticket", "view_flagchange", "view_customerprofile"],
    "assistants": [
        "view_thread",
        "change_thread",
        "view_message",
        "add_message",
        "view_run",
        "view_attachment",
        "add_attachment",
        "view_knowledgearticle",
    ],
}


def create_roles(apps, schema_editor):
    db = schema_editor.connection.alias
    for label in ("contenttypes", "auth", *APPS):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=db, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")

    thread_type = ContentType.objects.using(db).get(app_label="assistants", model="thread")
    Permission.objects.using(db).get_or_create(
        content_type=thread_type, codename=LIFECYCLE[0], defaults={"name": LIFECYCLE[1]}
    )

    agent, _ = Group.objects.using(db).get_or_create(name=AGENT)
    agent_perms = []
    for app_label, codenames in AGENT_PERMISSIONS.items():
        agent_perms += Permission.objects.using(db).filter(content_type__app_label=app_label, codename__in=codenames)
    agent.permissions.set(agent_perms)

    lead, _ = Group.objects.using(db).get_or_create(name=LEAD)
    lead.permissions.set(Permission.objects.using(db).filter(content_type__app_label__in=APPS))


def remove_roles(apps, schema_editor):
    db = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(db).filter(name__in=[AGENT, LEAD]).delete()
    apps.get_model("auth", "Permission").objects.using(db).filter(
        content_type__app_label="assistants", codename=LIFECYCLE[0]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("assistants", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
