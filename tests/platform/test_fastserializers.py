"""Every FastModelSerializer of the project renders the JSON DRF's ModelSerializer
renders, on real rows of every model (bench.routedata.populate's data): the fast
path changes the cost, never the answer."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from bench.routedata import populate
from jobs.api.fastserializers import FastModelSerializer

MODULES = ["jobs.api.serializers", "warmup.serializers", "competitors.api",
           "themes.serializers", "roadmap.serializers", "reports.api"]


def _subclasses() -> list[type[FastModelSerializer]]:
    for module in MODULES:
        importlib.import_module(module)
    found, todo = [], list(FastModelSerializer.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def test_every_fast_serializer_renders_drfs_json(org: Any, user: Any) -> None:
    populate(org, user, 3)
    request = APIRequestFactory().get("/api/")
    request.user = user
    compared: dict[str, int] = {}
    for cls in _subclasses():
        model: Any = cls.Meta.model
        rows = list(model._default_manager.all()[:10])
        for row in rows:
            fast = cls(row, context={"request": request})
            plain = cls(row, context={"request": request})
            expected = serializers.ModelSerializer.to_representation(plain, row)
            assert _json(fast.data) == _json(expected), (cls.__name__, row.pk)
        compared[cls.__name__] = len(rows)
    assert len(compared) >= 18, compared
    empty = [name for name, n in compared.items() if n == 0]
    assert len(empty) <= 3, f"no rows to compare for {empty}"
    print("COMPARED", compared)
    # Many at once, as a list page renders them.
    from jobs.api.serializers import JobSerializer
    from jobs.models import Job

    jobs = list(Job.objects.all())
    page = JobSerializer(jobs, many=True).data
    drf = [serializers.ModelSerializer.to_representation(JobSerializer(), job) for job in jobs]
    assert jobs and _json(page) == _json(drf)


def test_a_datetime_renders_as_drf_in_another_zone(org: Any, user: Any, settings: Any) -> None:
    from django.utils import timezone

    from jobs.api.serializers import JobSerializer
    from jobs.models import Job

    populate(org, user, 1)
    job = Job.objects.first()
    assert job is not None
    with timezone.override("Europe/Paris"):
        fast = JobSerializer(job).data
        plain = serializers.ModelSerializer.to_representation(JobSerializer(), job)
    assert fast == plain
    assert fast["created_at"][-6:] in ("+01:00", "+02:00")


def test_fields_built_once_per_class_are_drfs_fields_and_each_instance_its_own() -> None:
    for cls in _subclasses():
        cached_first = cls().get_fields()
        drf = serializers.ModelSerializer.get_fields(cls())  # DRF building them anew
        cached = cls().get_fields()
        assert repr(cached) == repr(drf), cls.__name__
        assert list(cached) == list(drf), cls.__name__
        for name, field in cached.items():
            assert field is not cached_first[name], (cls.__name__, name)
            assert type(field) is type(drf[name]), (cls.__name__, name)
