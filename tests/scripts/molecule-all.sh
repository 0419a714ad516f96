#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python tests/scripts/run_suite.py --stages molecule "$@"
