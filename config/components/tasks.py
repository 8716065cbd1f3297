"""Django's task API (django.tasks / the django-tasks backport) on the job platform."""

import importlib.util

from config.env import string_list
from config.settings_base import INSTALLED_APPS

if importlib.util.find_spec("django.tasks") is None:
    # Django 5.2: the backport's app (its system checks, and its handlers that
    # reset the backends when TASKS changes). Django 6 has django.tasks built in.
    INSTALLED_APPS.append("django_tasks")

# Queues a @task may name (queue_name); any other is refused at enqueue with
# Django's InvalidTask. Workers started without --queues run every queue.
TASKS_QUEUES = string_list("TASKS_QUEUES", ["default"])

TASKS = {
    "default": {
        "BACKEND": "jobs.tasks_backend.PlinthBackend",
        "QUEUES": TASKS_QUEUES,
    }
}
