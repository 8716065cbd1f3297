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
# Only the tool is wanted, not a Prometheus server left running: policy-rc.d (Debian's
# switch for maintainer scripts) keeps the package from starting its service.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >>"$log" 2>&1
if [ -n "$made_policy" ]; then rm -f "$policy"; fi
if command -v promtool >/dev/null 2>&1; then
  echo "ensure_promtool: installed $(promtool --version 2>&1 | head -n 1)."
else
  echo "ensure_promtool: apt-get could not install prometheus: the alert-rule tests will be skipped. Last lines:"
  tail -n 5 "$log"
fi
rm -f "$log"
exit 0
