"""Paging for every list endpoint: `limit` and `offset`, bounded and checked.

DRF's LimitOffsetPagination has no maximum by default (`?limit=100000000`
returned every row at once) and silently ignores values it cannot read. Here
a limit outside 1..MAX_LIMIT, or an offset that is not a whole number >= 0,
is a 400 that says what is allowed.

The page and the total come from one statement: the page's rows with the count
as a scalar subquery (`(SELECT count(*) FROM (<the same query>)) AS total`,
which PostgreSQL runs once, keeping the page's index scan and LIMIT), instead
of DRF's separate `COUNT(*)` round trip. An empty page (an offset past the end)
asks for the count alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 200
MAX_OFFSET = 10**9
TOTAL = "_page_total"  # the annotation that carries the count


def _whole_number(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
    return value


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int | None:
        value = _whole_number(request, self.limit_query_param, 1, MAX_LIMIT)
        return self.default_limit if value is None else value

    def get_offset(self, request: Request) -> int:
        value = _whole_number(request, self.offset_query_param, 0, MAX_OFFSET)
        return 0 if value is None else value

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None
                          ) -> list[Any] | None:
        if not _one_statement(queryset):
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        inner, params = queryset.order_by().values("pk").query.sql_with_params()
        page = list(
            queryset.annotate(**{TOTAL: RawSQL(f"SELECT count(*) FROM ({inner}) _total",
                                               params)})[self.offset:self.offset + self.limit]
        )
        if page:
            self.count = getattr(page[0], TOTAL)
        else:  # nothing at all, or an offset past the end (then its count)
            self.count = self.get_count(queryset) if self.offset else 0
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page


def _one_statement(queryset: Any) -> bool:
    """A plain model queryset (rows as model instances, no DISTINCT or grouping):
    the count subquery means the same as DRF's `queryset.count()`."""
    if not isinstance(queryset, QuerySet) or queryset._iterable_class is not ModelIterable:
        return False
    query = queryset.query
    return not (query.distinct or query.group_by or query.combinator or query.is_sliced)
