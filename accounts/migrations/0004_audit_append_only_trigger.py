"""On PostgreSQL the database itself refuses UPDATE of audit rows, whatever code path tries it."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_audit_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_refuse_update();
CREATE TRIGGER accounts_securityevent_no_update BEFORE UPDATE ON accounts_securityevent
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_refuse_update();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS accounts_auditevent_no_update ON accounts_auditevent;
DROP TRIGGER IF EXISTS accounts_securityevent_no_update ON accounts_securityevent;
DROP FUNCTION IF EXISTS accounts_audit_refuse_update();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_care_team_audit_encryption")]

    operations = [migrations.RunPython(forward, backward)]
