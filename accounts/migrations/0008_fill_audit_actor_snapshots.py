"""Existing audit rows get the snapshot of their actor (id, name, e-mail) from the account as it is now.

The append-only trigger (0004) refuses UPDATE, so on PostgreSQL it is switched off for this one statement, in
this migration's transaction: no other session can write meanwhile, and the trigger is back before commit.
Backwards clears the snapshots again, the same way.
"""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Concat, Trim

TRIGGER = "accounts_auditevent_no_update"


def _without_trigger(schema_editor, update) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE accounts_auditevent DISABLE TRIGGER {TRIGGER}")
    update()
    if postgres:
        # The update queued the deferred foreign-key checks of the rows; ALTER TABLE refuses to run while a table
        # has pending trigger events, so they run now (they pass: no key changed).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(f"ALTER TABLE accounts_auditevent ENABLE TRIGGER {TRIGGER}")


def forward(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    User = apps.get_model("accounts", "User")
    actor = User.objects.filter(pk=OuterRef("actor_id"))
    full_name = Trim(Concat(F("first_name"), Value(" "), F("last_name")))
    rows = AuditEvent.objects.filter(actor__isnull=False, actor_account_id__isnull=True)

    def update():
        rows.update(
            actor_account_id=F("actor_id"),
            actor_email=Subquery(actor.values("email")[:1]),
            actor_name=Subquery(actor.annotate(full=full_name).values("full")[:1]),
        )
        # `full_name` falls back to the username when the person gave no name.
        AuditEvent.objects.filter(actor__isnull=False, actor_name="").update(
            actor_name=Subquery(actor.values("username")[:1])
        )

    _without_trigger(schema_editor, update)


def backward(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")

    def update():
        AuditEvent.objects.exclude(actor_account_id__isnull=True).update(
            actor_account_id=None, actor_name="", actor_email=""
        )

    _without_trigger(schema_editor, update)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_audit_actor_snapshot")]

    operations = [migrations.RunPython(forward, backward)]
