#!/usr/bin/env bash
# Deploy backtestdb to namespace trading-system: migrate the schema with a one-off Job,
# apply deploy/kubernetes, wait for the rollout, print the URLs.
#   DATABASE_URL=postgresql://trading_user:…@postgres.databases.svc.cluster.local:5432/trading_db \
#     scripts/deploy-data-pipeline.sh
# DATABASE_URL, when given, is stored in the Secret data-pipeline-secrets (it overrides the
# ConfigMap's placeholder). RESTART=0 skips the rolling restart that picks up a rebuilt :latest.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

KUBECTL="${KUBECTL:-kubectl}"
NAMESPACE=trading-system
MANIFESTS=deploy/kubernetes
MIGRATE_TIMEOUT="${MIGRATE_TIMEOUT:-300}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"
RESTART="${RESTART:-1}"

command -v "$KUBECTL" >/dev/null \
    || die "kubectl not found: install it (https://kubernetes.io/docs/tasks/tools/) or set KUBECTL"
k() { "$KUBECTL" "$@"; }
k version --request-timeout=10s >/dev/null 2>&1 \
    || die "no Kubernetes cluster reachable with context '$(k config current-context 2>/dev/null || echo none)'"

step "Namespace and configuration"
k apply -f "$MANIFESTS/namespace.yaml" -f "$MANIFESTS/configmap.yaml"
if [[ -n "${DATABASE_URL:-}" ]]; then
    k -n "$NAMESPACE" create secret generic data-pipeline-secrets \
        --from-literal=DATABASE_URL="$DATABASE_URL" --dry-run=client -o yaml | k apply -f -
    ok "secret data-pipeline-secrets holds DATABASE_URL"
elif k -n "$NAMESPACE" get secret data-pipeline-secrets >/dev/null 2>&1; then
    ok "using the existing secret data-pipeline-secrets"
else
    warn "no secret data-pipeline-secrets and no DATABASE_URL given: the ConfigMap's" \
        "placeholder DATABASE_URL is used (see $MANIFESTS/secret.example.yaml)"
fi

step "Migrating the database (job data-pipeline-migrate)"
# A finished Job cannot be updated; replace it so it runs the current image.
k -n "$NAMESPACE" delete job data-pipeline-migrate --ignore-not-found --wait=true >/dev/null
k apply -k "$MANIFESTS/migrate"
state=""
for ((waited = 0; waited < MIGRATE_TIMEOUT; waited += 2)); do
    state="$(k -n "$NAMESPACE" get job data-pipeline-migrate \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')"
    [[ "$state" == *Complete* || "$state" == *Failed* ]] && break
    sleep 2
done
if [[ "$state" != *Complete* ]]; then
    k -n "$NAMESPACE" logs job/data-pipeline-migrate --tail=50 >&2 || true
    die "migration did not complete (${state:-timed out after ${MIGRATE_TIMEOUT}s})"
fi
ok "database migrated"

step "Applying $MANIFESTS"
k apply -k "$MANIFESTS"
if [[ "$RESTART" == 1 ]]; then
    # Same :latest tag, new image: only a restart makes the pods pull it again.
    k -n "$NAMESPACE" rollout restart deployment/data-pipeline
fi
if ! k -n "$NAMESPACE" rollout status deployment/data-pipeline --timeout="$ROLLOUT_TIMEOUT"; then
    k -n "$NAMESPACE" get pods -l app.kubernetes.io/name=data-pipeline -o wide >&2 || true
    die "rollout of deployment/data-pipeline did not finish in $ROLLOUT_TIMEOUT"
fi
ok "deployment/data-pipeline rolled out"

node_ip="$(k get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="ExternalIP")].address}')"
if [[ -z "$node_ip" ]]; then
    node_ip="$(k get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
fi
external="http://${node_ip:-<node-ip>}:30800"
cat <<MSG

${BOLD}backtestdb is up${RESET}
  internal: http://data-pipeline.$NAMESPACE.svc.cluster.local:8000
  external: $external
  API docs: $external/docs  and  $external/redoc
Smoke test: BASE_URL=$external scripts/test-data-pipeline.sh
MSG
