"""An index on the platform's jobs_jobevent table, for the retries metric.

`jobs/models.py` belongs to the platform and has no index that finds recent
`retry_scheduled` events: counting them scanned the whole event table (one row
per transition and per progress report: 500 ms at six million rows). This
partial index holds only retry events, so it stays small, and the count reads
a few pages (3 ms at the same size). Built CONCURRENTLY so that migrating a
live database does not block job writes; that needs a non-atomic migration.
If the platform later declares an equivalent index, drop this one.
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ops", "0002_durationbaseline_alert_delivery"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ops_jobevent_retry_created_idx "
                "ON jobs_jobevent (created_at) WHERE kind = 'retry_scheduled'"
            ),
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS ops_jobevent_retry_created_idx",
        ),
    ]
