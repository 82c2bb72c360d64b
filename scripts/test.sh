#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, format check, strict typing, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy (strict)"; .venv/bin/mypy
echo "== import-linter (the layers of the data flow)"; .venv/bin/lint-imports --no-cache
echo "== pytest"; .venv/bin/pytest "$@"
