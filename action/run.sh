#!/usr/bin/env bash
# The GitHub Action's command step (action.yml): runs one reconciler command and writes the step's outputs.
#
# It exits 0 even when the command fails, so the comment step after it can still post what the plan found;
# the action's last step fails the job on the `failed` output. Inputs arrive as INPUT_* variables (set by
# action.yml from its inputs), never interpolated into this script, so no input can inject shell code.
set -uo pipefail

reconciler=${RECONCILER:-reconciler}
read -r -a paths <<< "${INPUT_PATHS:-}"
read -r -a extra <<< "${INPUT_ARGS:-}"
# A flag, not BYTENITE_API_URL: a project environment's apiUrl comes before the variable, a flag before both.
api=()
[ -n "${INPUT_API_URL:-}" ] && api=(--api-url "$INPUT_API_URL")
key_variable=${INPUT_API_KEY_VARIABLE:-BYTENITE_API_KEY}
if ! [[ $key_variable =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "::error::api-key-variable must be a variable name, not '$key_variable'"
  exit 1
fi
[ -n "${INPUT_API_KEY:-}" ] && export "$key_variable=$INPUT_API_KEY"
[ -n "${INPUT_ENVIRONMENT:-}" ] && export BYTENITE_ENV="$INPUT_ENVIRONMENT"
plan_file=${INPUT_PLAN_FILE:-bytenite-plan.json}
output=${GITHUB_OUTPUT:?GITHUB_OUTPUT is set by the runner}

case "${INPUT_COMMAND:-plan}" in
  validate)
    "$reconciler" validate "${paths[@]}" "${extra[@]}"
    code=$?; plan_file=""; failed=$((code != 0)) ;;
  plan)
    rm -f "$plan_file"  # a plan file left from an earlier run must not be commented on as this one's
    "$reconciler" plan "${paths[@]}" "${api[@]}" --out "$plan_file" --detailed-exitcode "${extra[@]}"
    code=$?; failed=$((code == 1)) ;;  # 2 (changes) and 3 (blocked) are plans to review, not failures
  apply)
    # A plan file is applied as reviewed; manifests are planned and applied at once (no terminal to ask).
    "$reconciler" apply "${paths[@]}" "${api[@]}" --auto-approve "${extra[@]}"
    code=$?; plan_file=""; failed=$((code != 0)) ;;
  *)
    echo "::error::command must be validate, plan or apply, not '${INPUT_COMMAND}'"
    code=1; plan_file=""; failed=1 ;;
esac

changes=false
comment_file=""
if [ -n "$plan_file" ] && [ -f "$plan_file" ]; then
  # Changes: a plan that proposes a call, or a drift report (plan --drift) in which a field differs.
  changes=$(python3 - "$plan_file" <<'PY'
import json, sys
document = json.load(open(sys.argv[1], encoding="utf-8"))
if document["kind"] == "drift":
    print("true" if any(job["changes"] for job in document["jobs"]) else "false")
else:
    print("true" if document["summary"]["calls"] else "false")
PY
  )
  if [ "${INPUT_COMMENT:-false}" = "true" ]; then
    comment_file="${RUNNER_TEMP:-.}/bytenite-plan-comment.md"
    "$reconciler" show "$plan_file" --format markdown > "$comment_file" || { comment_file=""; failed=1; }
  fi
else
  plan_file=""
fi

{
  echo "exitcode=$code"
  echo "plan-file=$plan_file"
  echo "changes=$changes"
  echo "comment-file=$comment_file"
  echo "failed=$([ "$failed" -ne 0 ] && echo true || echo false)"
} >> "$output"
exit 0
