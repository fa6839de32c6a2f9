#!/bin/sh
# Deploy every flow of prefect.yaml to the `smsbridge` process work pool of the Prefect server at
# $PREFECT_API_URL (default: the local one). Run it as the smsbridge user once the server is up,
# and again after each upgrade:
#   sudo -u smsbridge PREFECT_HOME=/var/lib/smsbridge/prefect /opt/smsbridge/deploy/deploy-flows.sh
# Flow runs start in this checkout (prefect.yaml has no `pull` section: `prefect deploy` records
# the directory it ran in) with the Prefect worker's environment.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/.venv/bin:$PATH"
export PREFECT_API_URL="${PREFECT_API_URL:-http://127.0.0.1:4200/api}"
prefect work-pool inspect smsbridge >/dev/null 2>&1 ||
    prefect work-pool create --type process smsbridge
prefect --no-prompt deploy --all
