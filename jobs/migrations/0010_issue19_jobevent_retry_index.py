"""The partial index on recent retry events, declared by the platform that owns the table.

It was created by ops (its migration 0003, now a no-op) under the name
ops_jobevent_retry_created_idx. A database that has it gets it renamed (no
rebuild); one that does not gets it built CONCURRENTLY, so that migrating a
live database does not block job writes (hence a non-atomic migration).
"""

from django.db import migrations, models

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS jobevent_retry_created_idx "
    "ON jobs_jobevent (created_at) WHERE kind = 'retry_scheduled'"
)
RENAME = """
DO $$
BEGIN
    IF to_regclass('ops_jobevent_retry_created_idx') IS NOT NULL
       AND to_regclass('jobevent_retry_created_idx') IS NULL THEN
        ALTER INDEX ops_jobevent_retry_created_idx RENAME TO jobevent_retry_created_idx;
    END IF;
END $$;
"""


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("jobs", "0009_issue19_runlog_skipped"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="jobevent",
                    index=models.Index(
                        condition=models.Q(("kind", "retry_scheduled")),
                        fields=["created_at"],
                        name="jobevent_retry_created_idx",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(sql=RENAME, reverse_sql=migrations.RunSQL.noop),
                migrations.RunSQL(
                    sql=CREATE,
                    reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS jobevent_retry_created_idx",
                ),
            ],
        ),
    ]
