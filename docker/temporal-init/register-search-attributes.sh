#!/usr/bin/env bash
# Registers holdfast's custom search attributes on the Temporal server of docker-compose.yml. Run by the one-shot
# `temporal-init` service (image temporalio/admin-tools, which ships the `temporal` CLI):
#
#   bash /docker/temporal-init/register-search-attributes.sh
#
# Waits for the frontend to serve, creates the namespace when it is missing, then creates each attribute that is
# not there yet. Safe to re-run: an existing namespace, and existing attributes of the right type, are left alone.
set -euo pipefail

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
timeout_seconds="${TEMPORAL_INIT_TIMEOUT_SECONDS:-300}"
attributes=(CartId Sku OrderId CustomerId HoldStatus)
type=Keyword

deadline=$((SECONDS + timeout_seconds))

log() { echo "[temporal-init] $*"; }

# wait_until DESCRIPTION COMMAND...: runs COMMAND every 2 s until it succeeds or the deadline passes.
wait_until() {
  local what=$1 attempt=0
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout_seconds}s waiting for ${what}" >&2
      exit 1
    fi
    if ((attempt % 5 == 0)); then log "waiting for ${what}..."; fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

server_serving() { temporal operator cluster health --address "$address" | grep -q SERVING; }
namespace_exists() { temporal operator namespace describe --address "$address" --namespace "$namespace"; }
list_attributes() { temporal operator search-attribute list --address "$address" --namespace "$namespace"; }

# The list is a table with one attribute per row, "NAME TYPE"; the type may print as Keyword or
# INDEXED_VALUE_TYPE_KEYWORD depending on the CLI version, so it is normalised to the short form, lower case.
attribute_type() {
  list_attributes | awk -v name="$1" '$1 == name { t = tolower($2); sub(/^indexed_value_type_/, "", t); print t; exit }'
}

create_namespace() {
  namespace_exists || temporal operator namespace create --address "$address" --namespace "$namespace" \
    --retention "${TEMPORAL_RETENTION:-72h}"
}

wait_until "Temporal frontend at ${address}" server_serving
log "Temporal frontend at ${address} is serving"
wait_until "namespace ${namespace} (created when missing)" create_namespace
wait_until "search attributes of namespace ${namespace}" list_attributes
log "namespace ${namespace} is ready"

for name in "${attributes[@]}"; do
  while true; do
    current="$(attribute_type "$name" || true)"
    if [[ "$current" == "${type,,}" ]]; then
      log "${name}: already registered as ${type}"
      break
    fi
    if [[ -n "$current" ]]; then
      log "${name}: already registered as ${current}, but holdfast needs ${type}" >&2
      exit 1
    fi
    if output="$(temporal operator search-attribute create --address "$address" --namespace "$namespace" \
      --name "$name" --type "$type" 2>&1)"; then
      log "${name}: registered as ${type}"
      break
    fi
    if grep -qi 'already exists' <<<"$output"; then
      log "${name}: already exists"
      break
    fi
    # Right after namespace creation the server's namespace cache may lag: retry until the deadline.
    if ((SECONDS >= deadline)); then
      log "could not register ${name}: ${output}" >&2
      exit 1
    fi
    log "${name}: not registered yet (${output}); retrying"
    sleep 2
  done
done

log "search attributes registered: ${attributes[*]}"
