#!/usr/bin/env bash
# Install, start the bundled emulator seeded with drafts, then plan → apply → plan examples/jobs/ against it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python scripts/demo.py "$@"
