"""Every setting the code reads from the environment is documented: in the README
(the platform, the web server, AI providers and integrations) or in the document
of the app that reads it (docs/*.md)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from config import env as env_parsers

BASE = Path(__file__).resolve().parents[2]
# Every parser of config/env.py (each takes the variable's name first).
PARSERS = sorted(
    name for name, fn in inspect.getmembers(env_parsers, inspect.isfunction)
    if fn.__module__ == env_parsers.__name__ and not name.startswith("_")
)
READS = re.compile(
    r"""(?:env(?:\.\w+)?|""" + "|".join(PARSERS)
    + r"""|os\.environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# Read by the development tooling or the test suite, not by the product.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def settings_read() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*BASE.glob("config/**/*.py"), *BASE.glob("*/management/commands/*.py")]:
        for name in READS.findall(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(BASE)))
    return found


def documented_names(documents: str) -> set[str]:
    """Every `NAME` in the documents; a row naming several settings by suffix
    (`JOBS_LIMIT_PER_ORG` / `_PER_USER`) counts each of them."""
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", documents))
    for first, rest in re.findall(r"`([A-Z][A-Z0-9_]+)`((?: / `_[A-Z0-9_]+`)+)", documents):
        for suffix in re.findall(r"`(_[A-Z0-9_]+)`", rest):
            cuts = [i for i, c in enumerate(first) if c == "_"]
            names |= {first[:i] + suffix for i in cuts}
    return names


def test_every_environment_setting_is_documented():
    documents = (BASE / "README.md").read_text() + "".join(
        p.read_text() for p in sorted(BASE.glob("docs/*.md")))
    found = settings_read()
    documented = documented_names(documents)

    undocumented = {name: sorted(where) for name, where in found.items()
                    if name not in NOT_SETTINGS and name not in documented}

    assert {"boolean", "integer", "number", "secret", "string"} <= set(PARSERS)
    assert len(found) > 60  # the pattern still finds the settings
    assert undocumented == {}
