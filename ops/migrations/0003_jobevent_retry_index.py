"""Formerly: ops created a partial index on the platform's jobs_jobevent table.

The platform owns its tables' indexes: `JobEvent.Meta.indexes` declares it now
(jobevent_retry_created_idx, jobs migration 0010_issue19_jobevent_retry_index,
which renames the index this migration used to create on databases that have
it). Kept, empty, so the migration graph of existing databases stays whole.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0002_durationbaseline_alert_delivery"),
        ("jobs", "0001_initial"),
    ]

    operations = []
