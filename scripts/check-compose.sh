#!/usr/bin/env bash
# Checks docker-compose.yml with Docker Compose itself: `docker compose config -q` passes with the three secrets
# set, and refuses without them (they are required, with no defaults). Where no Compose plugin is installed (this
# machine has a docker CLI without one), Compose is built once from its Go module into HOLDFAST_HOME/bin and run
# standalone; `go install` refuses that module (its go.mod has exclude directives), so it is built in a copy.
set -euo pipefail
cd "$(dirname "$0")/.."

compose_module=github.com/docker/compose/v2
compose_version=v2.40.3
home="${HOLDFAST_HOME:-.holdfast}"

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  bin="$home/bin/docker-compose-$compose_version"
  if [ ! -x "$bin" ]; then
    echo "building Docker Compose $compose_version from $compose_module (once, into $bin)"
    dir=$(go mod download -json "$compose_module@$compose_version" | node -e \
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp -r "$dir"/. "$work"
    chmod -R u+w "$work"
    mkdir -p "$home/bin"
    out="$(pwd)/$bin"
    (cd "$work" && go build -ldflags "-X $compose_module/internal.Version=$compose_version" -o "$out.partial" ./cmd)
    mv "$out.partial" "$out"
  fi
  compose=("$bin")
fi

echo "compose: $("${compose[@]}" version)"
HOLDFAST_OPS_TOKEN=ci HOLDFAST_TOKEN_SECRET=ci TEMPORAL_POSTGRES_PASSWORD=ci "${compose[@]}" config -q
echo "docker-compose.yml: config -q passes with the secrets set"
if (unset HOLDFAST_OPS_TOKEN HOLDFAST_TOKEN_SECRET TEMPORAL_POSTGRES_PASSWORD; "${compose[@]}" config -q) 2>/dev/null; then
  echo "docker-compose.yml: config passed without the secrets, which must be required" >&2
  exit 1
fi
echo "docker-compose.yml: refused without the secrets, as it must be"
