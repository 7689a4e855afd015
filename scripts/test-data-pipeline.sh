#!/usr/bin/env bash
# Smoke test a running backtestdb API end to end: health, docs, list, then ingest a sample,
# read it back, delete it and confirm it is gone. Needs only curl and python3.
#   BASE_URL=http://<node-ip>:30800 scripts/test-data-pipeline.sh
# REPORT_FILE / CSV_FILE / PARAMS_FILE override the sample (default tests/data/basic);
# API_KEY is sent as the X-API-Key header (API_KEY_HEADER) when set.
# Exit status: 0 when every check passed, 1 otherwise (also when the server is down).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$ROOT/scripts/common.sh"

BASE_URL="${BASE_URL:-http://localhost:30800}"
BASE_URL="${BASE_URL%/}"
REPORT_FILE="${REPORT_FILE:-$ROOT/tests/data/basic/report.json}"
CSV_FILE="${CSV_FILE-$ROOT/tests/data/basic/history.csv}"
PARAMS_FILE="${PARAMS_FILE-}"
TIMEOUT="${TIMEOUT:-60}"
PASSED=0
FAILED=0

command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BODY="$WORK/body"
headers=()
if [[ -n "${API_KEY:-}" ]]; then
    headers=(-H "${API_KEY_HEADER:-X-API-Key}: $API_KEY")
fi

pass() {
    ok "$*"
    PASSED=$((PASSED + 1))
}
failed() {
    fail "$*"
    FAILED=$((FAILED + 1))
}
summary() {
    printf '\n%sPassed: %d  Failed: %d%s\n' "$BOLD" "$PASSED" "$FAILED" "$RESET"
    [[ "$FAILED" -eq 0 ]]
}

# request METHOD PATH [curl args…]: sets STATUS (000 when there was no answer), body in $BODY.
request() {
    local method="$1" path="$2"
    shift 2
    STATUS="$(curl -sS -o "$BODY" -w '%{http_code}' -X "$method" --max-time "$TIMEOUT" \
        "${headers[@]}" "$@" "$BASE_URL$path" 2>"$WORK/curl.err")" || STATUS=000
}

# json KEY: prints that top-level field of the last answer (JSON text for non-strings);
# fails when the body is not a JSON object holding KEY.
json() {
    python3 - "$BODY" "$1" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    value = data[sys.argv[2]]
except (ValueError, KeyError, TypeError):
    sys.exit(1)
print(value if isinstance(value, str) else json.dumps(value))
PY
}

# expect CODE [TEXT]: the last answer had status CODE and (case-insensitively) TEXT in it.
expect() { [[ "$STATUS" == "$1" ]] && { [[ -z "${2:-}" ]] || grep -qi -- "$2" "$BODY"; }; }
excerpt() { head -c 300 "$BODY" | tr '\n' ' '; }

echo "${BOLD}backtestdb smoke test against $BASE_URL${RESET}"

request GET /health
if [[ "$STATUS" == 000 ]]; then
    failed "server not reachable at $BASE_URL: $(tr '\n' ' ' <"$WORK/curl.err")"
    summary || exit 1
fi
if [[ "$STATUS" == 200 && "$(json status)" == ok ]]; then
    pass "GET /health -> 200 {\"status\": \"ok\"}"
else
    failed "GET /health -> $STATUS $(excerpt)"
fi

for page in /health/ready:200: /:200: /docs:200:swagger /redoc:200:redoc; do
    IFS=: read -r path code text <<<"$page"
    request GET "$path"
    if expect "$code" "$text"; then
        pass "GET $path -> $code${text:+ ($text)}"
    else
        failed "GET $path -> $STATUS $(excerpt)"
    fi
done

request GET /api/v1/backtests
if [[ "$STATUS" == 200 ]] && total="$(json total)" && [[ "$total" =~ ^[0-9]+$ ]] \
    && [[ "$(json items)" == \[* ]]; then
    pass "GET /api/v1/backtests -> $total backtests"
else
    failed "GET /api/v1/backtests -> $STATUS $(excerpt)"
fi

# The same files twice are deduplicated to the existing backtest, which we must never
# delete: a unique key added to a JSON report (unknown keys are kept) makes this upload new.
report="$REPORT_FILE"
if [[ "$REPORT_FILE" == *.json ]]; then
    report="$WORK/$(basename "$REPORT_FILE")"
    python3 - "$REPORT_FILE" "$report" <<'PY'
import json, sys, uuid
data = json.load(open(sys.argv[1], encoding="utf-8-sig"))
if isinstance(data, dict):
    data["smokeTestRunId"] = str(uuid.uuid4())
json.dump(data, open(sys.argv[2], "w", encoding="utf-8"))
PY
fi
form=(-F "json_file=@$report" -F "name=smoke test $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    -F "description=scripts/test-data-pipeline.sh; deleted when the test ends")
[[ -n "$CSV_FILE" ]] && form+=(-F "csv_file=@$CSV_FILE")
[[ -n "$PARAMS_FILE" ]] && form+=(-F "parameters_file=@$PARAMS_FILE")

backtest_id=""
request POST /api/v1/ingest "${form[@]}"
if [[ "$STATUS" =~ ^20[01]$ ]] && [[ "$(json status)" == completed ]] \
    && backtest_id="$(json backtest_id)" && [[ -n "$backtest_id" ]]; then
    message="$(json message)"
    pass "POST /api/v1/ingest -> $backtest_id ($message)"
else
    failed "POST /api/v1/ingest -> $STATUS $(excerpt)"
fi

if [[ -n "$backtest_id" ]]; then
    trades="$(sed -n 's/.*ingested \([0-9][0-9]*\) trade.*/\1/p' <<<"$message")"
    request GET "/api/v1/backtests/$backtest_id"
    if [[ "$STATUS" == 200 && "$(json id)" == "$backtest_id" ]] \
        && { [[ -z "$trades" ]] || [[ "$(json total_trades)" == "$trades" ]]; }; then
        pass "GET /api/v1/backtests/$backtest_id -> ${trades:-?} trades"
    else
        failed "GET /api/v1/backtests/$backtest_id -> $STATUS $(excerpt)"
    fi
    request DELETE "/api/v1/backtests/$backtest_id"
    if expect 204; then
        pass "DELETE /api/v1/backtests/$backtest_id -> 204"
    else
        failed "DELETE /api/v1/backtests/$backtest_id -> $STATUS $(excerpt)"
    fi
    request GET "/api/v1/backtests/$backtest_id"
    if expect 404; then
        pass "GET after delete -> 404"
    else
        failed "GET after delete -> $STATUS (expected 404)"
    fi
fi

summary
