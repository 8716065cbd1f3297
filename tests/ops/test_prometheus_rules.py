"""The Prometheus alerting rules (ops/prometheus/alerts.yml): valid for promtool, passing
their unit tests (alerts.test.yml), and written over metrics that /metrics really serves."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops import prometheus

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
RULE_TESTS = RULES_DIR / "alerts.test.yml"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is missing (Debian's prometheus package; make test installs it as root)",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                          cwd=RULES_DIR)


@needs_promtool
def test_promtool_checks_the_rules():
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


@needs_promtool
def test_the_rules_pass_their_unit_tests():
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def test_the_seeds_thresholds_are_the_rules_thresholds(settings):
    by_name = {rule["alert"]: rule for rule in rules()}
    assert "> 0.10" in by_name["PlinthJobsFailureRateHigh"]["expr"]
    assert settings.OPS_ALERT_FAILURE_RATE == 0.10
    assert "> 50" in by_name["PlinthQueueDepthHigh"]["expr"]
    assert settings.OPS_ALERT_QUEUE_DEPTH == 50
    assert "2 * plinth_jobs_duration_p95_7d_seconds" in by_name["PlinthJobDurationP95High"]["expr"]
    assert settings.OPS_ALERT_P95_FACTOR == 2.0
    assert "> 5" in by_name["PlinthJobsStuck"]["expr"]
    assert settings.OPS_ALERT_STUCK_JOBS == 5
    assert by_name["PlinthJobsFailureRateHigh"]["labels"]["severity"] == "critical"


@pytest.mark.django_db
def test_every_metric_the_rules_read_is_served_by_metrics():
    served = set(re.findall(r"^# TYPE (\w+) ", prometheus.render().decode(), re.MULTILINE))
    wanted = {name for rule in rules() for name in re.findall(r"\bplinth_\w+", rule["expr"])}
    assert wanted and wanted <= served, wanted - served
