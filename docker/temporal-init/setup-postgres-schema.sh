#!/usr/bin/env bash
# Creates Temporal's two PostgreSQL databases and brings their schemas up to the version the admin-tools image
# ships (the schema job that replaces temporalio/auto-setup). Run by the one-shot `temporal-schema` service:
#
#   bash /docker/temporal-init/setup-postgres-schema.sh
#
# Safe to re-run (`docker compose up` runs it on every start): an existing database or schema is left as it is,
# and update-schema only applies versions not applied yet.
set -euo pipefail

tool=(temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS:-postgresql}" -p "${DB_PORT:-5432}"
  -u "${POSTGRES_USER:?}" --pw "${POSTGRES_PWD:?}")
schemas=/etc/temporal/schema/postgresql/v12

log() { echo "[temporal-schema] $*"; }

for db in temporal temporal_visibility; do
  dir=$([[ "$db" == temporal ]] && echo temporal || echo visibility)
  if "${tool[@]}" --db "$db" create 2>/dev/null; then log "$db: created"; else log "$db: exists"; fi
  # setup-schema -v 0.0 lays down the version table once; on a database that has it, it is refused.
  if "${tool[@]}" --db "$db" setup-schema -v 0.0 2>/dev/null; then log "$db: version table created"; fi
  "${tool[@]}" --db "$db" update-schema -d "$schemas/$dir/versioned"
  log "$db: schema up to date"
done
