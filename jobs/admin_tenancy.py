"""The admin, scoped to a staff member's organizations.

Superusers see and act on every row. Other staff see, choose in foreign-key
fields and filters, and act on (actions run on the changelist's queryset) only
the rows of the organizations they are members of. A model admin says how to
reach the organization from its model with `organization_path` (a lookup:
"organization", "project__organization", "id" for Organization itself).
Rows with no organization (system jobs such as warmups) are superusers' only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from jobs.models import Membership, Organization

# How to reach the organization from a related model, for foreign-key choices.
_PATHS = ("organization", "project__organization", "decision__organization",
          "document__organization", "theme__organization", "interview__organization")


def staff_organization_ids(
    request: HttpRequest,
) -> QuerySet[Membership, Any] | None:
    """The organizations a staff member may see in the admin; None: all (superuser)."""
    user = request.user
    if getattr(user, "is_superuser", False):
        return None
    return Membership.objects.filter(user=user).values(  # type: ignore[misc]  # staff: a User
        "organization_id")


def _organization_path(model: type[Model]) -> str | None:
    if model is Organization:
        return "id"
    names = {f.name for f in model._meta.get_fields()}
    for path in _PATHS:
        if path.split("__")[0] in names:
            return path
    return None


def _scope(queryset: QuerySet[Any], path: str, ids: Any) -> QuerySet[Any]:
    lookup = "id__in" if path == "id" else f"{path}__in"
    return queryset.filter(**{lookup: ids})


class OrganizationScopedMixin:
    """For ModelAdmin and inlines: rows and foreign-key choices of the staff member's
    organizations only."""

    organization_path: str = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        ids = staff_organization_ids(request)
        return queryset if ids is None else _scope(queryset, self.organization_path, ids)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any
                                 ) -> Any:
        ids = staff_organization_ids(request)
        if ids is not None and "queryset" not in kwargs:
            path = _organization_path(db_field.related_model)
            if path is not None:
                kwargs["queryset"] = _scope(
                    db_field.related_model._default_manager.all(), path, ids
                )
        return super().formfield_for_foreignkey(  # type: ignore[misc]
            db_field, request, **kwargs
        )

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)  # type: ignore[misc]
        if staff_organization_ids(request) is None:
            return filters
        # A related field's filter lists every row of the related table (other
        # organizations' names too); offer only the values of rows one may see.
        related = {f.name for f in self.model._meta.get_fields()  # type: ignore[attr-defined]
                   if f.is_relation and f.many_to_one}
        return [(f, admin.RelatedOnlyFieldListFilter) if isinstance(f, str) and f in related
                else f for f in filters]
