#!/usr/bin/env bash
# The alerting rules (ops/prometheus/alerts.yml) are checked and unit-tested by
# Prometheus' promtool (tests/ops/test_prometheus_rules.py). This installs Debian's
# `prometheus` package, which ships /usr/bin/promtool, when promtool is missing and we
# are root; otherwise it says why those tests will be skipped. Idempotent, and always
# exits 0: a machine without promtool still runs every other test.
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure_promtool: promtool is missing and this is not root: the alert-rule tests will be skipped" \
       "(as root: apt-get install prometheus)."
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_promtool: promtool is missing and there is no apt-get: the alert-rule tests will be skipped."
  exit 0
fi
echo "ensure_promtool: installing Debian's prometheus (for promtool)..."
log=$(mktemp)

if apt-get update -qq >"$log" 2>&1 &&
   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >>"$log" 2>&1 &&
   command -v promtool >/dev/null 2>&1; then
  echo "ensure_promtool: installed $(promtool --version 2>&1 | head -n 1)."
else
  echo "ensure_promtool: apt-get could not install prometheus: the alert-rule tests will be skipped. Last lines:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
