"""Create the demo organization and staff user, and each app's demo data.

Idempotent: running it again reuses what exists. An app adds demo data with a
`demo.py` module holding `seed(*, organization, user) -> str | None`.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from jobs.models import Membership, Organization

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


class Command(BaseCommand):
    help = "Create the demo organization, the staff superuser `demo` and demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        org, _ = Organization.objects.get_or_create(
            slug="demo", defaults={"name": "Demo Organization"}
        )
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = User.objects.create_superuser(
                DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD
            )
            self.stdout.write(f"Created the staff superuser {DEMO_USERNAME!r}.")
        Membership.objects.get_or_create(
            user=user, organization=org, defaults={"role": Membership.Role.ADMIN}
        )
        token, _ = Token.objects.get_or_create(user=user)
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            summary = module.seed(organization=org, user=user)
            if summary:
                self.stdout.write(f"{config.label}: {summary}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at /admin/ as {DEMO_USERNAME} / {DEMO_PASSWORD} "
                f"(organization {org.name!r}). API token: {token.key}"
            )
        )
