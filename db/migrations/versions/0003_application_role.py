"""The application's own database role: it reads and writes the records, appends to the audit
trail, and owns nothing, so it can neither change nor disable what protects the audit trail
(the trigger, its function, `session_replication_role`, which needs superuser).

The role itself is created by whoever provisions the server (the embedded PostgreSQL of
`make run`, deploy/postgres-init.sql); this migration only grants, and does nothing where the
role does not exist (one-role set-ups, such as an external TEST_DATABASE_URL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudmanager_app') THEN
                GRANT USAGE ON SCHEMA public TO cloudmanager_app;
                GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
                    TO cloudmanager_app;
                GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cloudmanager_app;
                REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM cloudmanager_app;
                REVOKE ALL ON alembic_version FROM cloudmanager_app;
                -- Tables later migrations create (as this same owner) get the same grants.
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cloudmanager_app;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT USAGE, SELECT ON SEQUENCES TO cloudmanager_app;
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudmanager_app') THEN
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM cloudmanager_app;
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    REVOKE USAGE, SELECT ON SEQUENCES FROM cloudmanager_app;
                REVOKE ALL ON ALL TABLES IN SCHEMA public FROM cloudmanager_app;
                REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM cloudmanager_app;
            END IF;
        END
        $$
        """
    )
