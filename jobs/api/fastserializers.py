"""A ModelSerializer whose plain fields are rendered without DRF's per-field overhead.

A list page spends most of its CPU in DRF's `Serializer.to_representation`:
for every row and every field, `field.get_attribute` (a generic attribute walk
with error handling), then `field.to_representation` (a DateTimeField looks up
its format and time zone for every value: about 40 us each here). For fields
whose rendering is a plain function of one attribute (text, numbers, UUIDs,
JSON, choices, date-times in DRF's default ISO 8601 format), this serializer
works out the function once per serializer instance and applies it directly;
every other field (nested serializers, method fields, dotted sources, defaults,
custom formats, writes) goes through DRF exactly as before.

It also builds its fields once per class: DRF's ModelSerializer works them out
from the model for every serializer instance (`get_fields`: `build_field` for
each, about 260 us a request for the job's 24 fields here); this one keeps the
built fields on the class and gives each instance a deep copy, as DRF itself
does with declared fields (about 130 us). The fields a ModelSerializer builds
depend only on its class and model.

The JSON is DRF's, byte for byte: tests/platform/test_fastserializers.py renders
every subclass both ways on real rows.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import empty
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

Render = Callable[[Any], Any]
_MISSING = object()


def _text(value: Any) -> Any:
    return str(value)


def _integer(value: Any) -> Any:
    return int(value)


def _float(value: Any) -> Any:
    return float(value)


def _same(value: Any) -> Any:
    return value


def _datetime(tz: datetime.tzinfo) -> Render:
    def render(value: Any) -> Any:
        # DRF's DateTimeField.to_representation with the default ISO 8601 format.
        if not value:
            return None
        if isinstance(value, str):
            return value
        if timezone.is_aware(value):
            value = value.astimezone(tz)
        else:
            value = timezone.make_aware(value, tz)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return render


def _choice(field: Any) -> Render:
    lookup = field.choice_strings_to_values

    def render(value: Any) -> Any:
        if value == "":
            return value
        return lookup.get(str(value), value)
    return render


def _renderer(field: Any) -> Render | None:
    """The direct rendering of `field`'s attribute value (not None), or None for DRF's way."""
    if field.source == "*" or len(field.source_attrs) != 1 or field.default is not empty:
        return None
    kind = type(field)
    if kind in (serializers.CharField, serializers.SlugField, serializers.EmailField,
                serializers.URLField):
        return _text
    if kind is serializers.IntegerField:
        return _integer
    if kind is serializers.FloatField:
        return _float
    if kind is serializers.UUIDField and field.uuid_format == "hex_verbose":
        return _text
    if kind is serializers.JSONField and not field.binary:
        return _same
    if kind is serializers.ChoiceField:
        return _choice(field)
    if kind is serializers.DateTimeField:
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if output_format is None or output_format.lower() != ISO_8601:
            return None
        if hasattr(field, "timezone"):
            return None  # a field of its own time zone: DRF's way
        tz = field.default_timezone()
        return None if tz is None else _datetime(tz)
    return None


class FastModelSerializer(serializers.ModelSerializer):
    """ModelSerializer with plain fields rendered directly (same JSON as DRF)."""

    _plan: list[tuple[str, str, Render | None, Any]] | None = None

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built = cls.__dict__.get("_built_fields")  # this class's own, not a parent's
        if built is None:
            built = super().get_fields()
            cls._built_fields = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)

    def _rendering_plan(self) -> list[tuple[str, str, Render | None, Any]]:
        plan = self._plan
        if plan is None:
            plan = [(str(f.field_name), f.source_attrs[0] if f.source_attrs else "",
                     _renderer(f), f) for f in self._readable_fields]
            self._plan = plan
        return plan

    def to_representation(self, instance: Any) -> Any:
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        ret: dict[str, Any] = {}
        for name, attr, render, field in self._rendering_plan():
            if render is not None:
                value = getattr(instance, attr, _MISSING)
                if value is None:
                    ret[name] = None
                    continue
                if value is not _MISSING and not callable(value):
                    ret[name] = render(value)
                    continue
                # A missing attribute or a method: DRF's way (its errors, its call).
            try:
                attribute = field.get_attribute(instance)
            except serializers.SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check is None else field.to_representation(attribute)
        return ret
