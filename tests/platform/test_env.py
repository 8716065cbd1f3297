"""config/env.py: every parser reads strictly and names the variable when it refuses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

NAME = "PLINTH_TEST_SETTING"


@pytest.fixture
def setenv(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(f"{NAME}_FILE", raising=False)

    def set_value(value: str) -> None:
        monkeypatch.setenv(NAME, value)

    return set_value


def refused(parse, match: str = NAME) -> str:
    with pytest.raises(ImproperlyConfigured, match=match) as info:
        parse()
    return str(info.value)


@pytest.mark.parametrize("raw, expected", [
    ("true", True), ("YES", True), ("on", True), ("1", True), (" True ", True),
    ("false", False), ("No", False), ("off", False), ("0", False),
])
def test_boolean_reads_the_usual_words(setenv, raw, expected):
    setenv(raw)
    assert env.boolean(NAME, not expected) is expected


def test_boolean_unset_or_blank_is_the_default_and_a_typo_stops_the_start(setenv):
    assert env.boolean(NAME, True) is True
    setenv("  ")
    assert env.boolean(NAME, False) is False
    setenv("ture")
    assert "must be true or false, got 'ture'" in refused(lambda: env.boolean(NAME, False))


def test_integer_parses_and_keeps_to_its_bounds(setenv):
    assert env.integer(NAME, 7) == 7
    setenv("42")
    assert env.integer(NAME, 7, low=1, high=50) == 42
    setenv("51")
    assert "between 1 and 50, got 51" in refused(lambda: env.integer(NAME, 7, low=1, high=50))
    setenv("-1")
    assert ">= 0, got -1" in refused(lambda: env.integer(NAME, 7))
    setenv("0")
    assert "> 0, got 0" in refused(lambda: env.integer(NAME, 7, above=0))
    setenv("1.5")
    assert "must be an integer, got '1.5'" in refused(lambda: env.integer(NAME, 7))
    setenv("ten")
    refused(lambda: env.positive_int(NAME, 7))


def test_number_parses_and_refuses_nonsense(setenv):
    assert env.number(NAME, 2.5) == 2.5
    setenv("0.25")
    assert env.number(NAME, 1.0, above=0) == 0.25
    assert env.ratio(NAME, 0.5) == 0.25
    setenv("0")
    assert env.positive_float(NAME, 1.0) == 0.0
    assert "> 0, got 0.0" in refused(lambda: env.number(NAME, 1.0, above=0))
    setenv("1.5")
    assert "between 0.0 and 1.0, got 1.5" in refused(lambda: env.ratio(NAME, 0.5))
    for bad in ("fast", "nan", "inf"):
        setenv(bad)
        refused(lambda: env.number(NAME, 1.0))
    setenv("-2")
    assert ">= 0.0, got -2.0" in refused(lambda: env.positive_float(NAME, 1.0))


def test_choice_is_case_insensitive_and_names_the_choices(setenv):
    assert env.choice(NAME, "auto", {"auto", "openai"}) == "auto"
    setenv("OpenAI")
    assert env.choice(NAME, "auto", {"auto", "openai"}) == "openai"
    setenv("openia")
    message = refused(lambda: env.choice(NAME, "auto", {"auto", "openai"}))
    assert "one of auto, openai, not 'openia'" in message


def test_string_list_strips_and_drops_blanks(setenv):
    assert env.string_list(NAME, ["a"]) == ["a"]
    setenv(" a, b ,,c ")
    assert env.string_list(NAME, []) == ["a", "b", "c"]
    setenv("")
    assert env.string_list(NAME, ["a"]) == []  # set but empty: an empty list, on purpose


def test_number_map_merges_over_the_default_and_checks_keys_and_values(setenv):
    assert env.number_map(NAME, {"a": 1.0}, cast=float) == {"a": 1.0}
    setenv("b=2.5, c=3")
    assert env.number_map(NAME, {"a": 1.0}, cast=float) == {"a": 1.0, "b": 2.5, "c": 3.0}
    setenv("a=500")
    assert env.number_map(NAME, {}, cast=int, keys={"a", "b"}) == {"a": 500}
    setenv("z=5")
    assert "unknown key 'z'" in refused(
        lambda: env.number_map(NAME, {}, cast=int, keys={"a", "b"}))
    setenv("a=0")
    assert "a must be > 0, got 0" in refused(lambda: env.number_map(NAME, {}, cast=int))
    for bad in ("a=fast", "a", "=3", "a=1.5"):
        setenv(bad)
        assert "must look like key=1,other=2" in refused(
            lambda: env.number_map(NAME, {}, cast=int))


def test_secret_comes_from_the_variable_or_the_file_it_names(setenv, monkeypatch, tmp_path):
    assert env.secret(NAME) == ""
    setenv("from-env")
    assert env.secret(NAME) == "from-env"
    path = tmp_path / "secret"
    path.write_text("from-file\n")
    monkeypatch.setenv(f"{NAME}_FILE", str(path))
    assert env.secret(NAME) == "from-file"  # the file wins, stripped
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "missing"))
    assert "cannot be read" in refused(lambda: env.secret(NAME), match=f"{NAME}_FILE")


def test_the_settings_use_the_strict_parsers(monkeypatch):
    """A typo in a component's setting stops the settings from loading."""
    import importlib

    import config.components.reports as reports

    monkeypatch.setenv("REPORTS_MAX_TOKENS", "lots")
    with pytest.raises(ImproperlyConfigured, match="REPORTS_MAX_TOKENS must be an integer"):
        importlib.reload(reports)
    monkeypatch.setenv("REPORTS_MAX_TOKENS", "1500")
    importlib.reload(reports)
    assert reports.REPORTS_MAX_TOKENS == 1500
