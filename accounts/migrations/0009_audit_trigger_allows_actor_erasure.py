"""The audit trigger lets exactly one UPDATE through: the erasure of the actor's account nulling `actor_id`.

Every other column (the actor snapshot included) must stay as written, and a link can only be dropped, never
set or re-pointed; anything else is still refused. Security events keep the plain refusal (their `user` cascades,
it is never nulled). See `accounts.models.AuditEvent` for why this rather than an unconstrained foreign key.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_auditevent_refuse_update() RETURNS trigger AS $$
BEGIN
    IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS accounts_auditevent_no_update ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_refuse_update();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS accounts_auditevent_no_update ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_refuse_update();
DROP FUNCTION IF EXISTS accounts_auditevent_refuse_update();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_fill_audit_actor_snapshots")]

    operations = [migrations.RunPython(forward, backward)]
