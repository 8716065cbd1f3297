"""Signals other apps listen to (the scanner knows none of them).

`scan_finished` is sent in the transaction that marks a (non-dry) scan
completed, so whatever a receiver queues commits with the completion, or not
at all. Arguments: `organization_id`, `job_id`, `themes_created`,
`themes_updated`.
"""

from __future__ import annotations

import django.dispatch

scan_finished = django.dispatch.Signal()
