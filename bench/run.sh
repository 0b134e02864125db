#!/usr/bin/env bash
# Runs stoa-bench against freshly started release servers.
#   bench/run.sh sqlite              embedded default (SQLite, in-process bus)
#   bench/run.sh postgres            Postgres + Redis, two instances (cross-instance fan-out)
# Extra arguments go to stoa-bench (e.g. --quick). `all` runs fanout and idle against the bare
# baseline (a tokio + tungstenite broadcast server in its own process) first and prints the ratios.
# Needs: cargo build --release -p stoa-api -p stoa-bench (the crate lives in this folder)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}; shift || true
target=${CARGO_TARGET_DIR:-target}/release
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
# start() runs in a $(…) subshell, so server pids go to files, not to a variable.
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  # The servers are gone first, then the database they used.
  if [ -f "$work/db" ]; then
    sleep 1
    psql -q postgres://postgres@127.0.0.1:5432/postgres -c "DROP DATABASE IF EXISTS $(cat "$work/db")" || true
  fi
}
trap cleanup EXIT
budgets=(STOA_SIGNUPS_PER_ADDRESS_PER_HOUR=100000 STOA_RATE_LIMIT_IP_PER_MIN=60000000 STOA_RATE_LIMITS=owner=60000000,admin=60000000,moderator=60000000,agent=60000000,member=60000000 STOA_LOG=warn STOA_JWT_SECRET=bench-secret-bench-secret-bench-secret-1)
start() { # name, extra env...
  local name=$1; shift
  env "${budgets[@]}" STOA_BIND=127.0.0.1:0 STOA_DATA_DIR="$work/$name" "$@" "$target/stoa" serve >"$work/$name.log" 2>&1 &
  echo $! > "$work/$name.pid"
  for _ in $(seq 1 100); do grep -q 'http://' "$work/$name.log" 2>/dev/null && break; sleep 0.1; done
  grep -o 'http://[0-9.:]*/graphql' "$work/$name.log" | head -n1 | sed 's|/graphql||'
}
case "$mode" in
  sqlite)
    url=$(start a)
    "$target/stoa-bench" --url "$url" "$@" all --database-url "sqlite://$work/a/stoa.db"
    ;;
  postgres)
    db="stoa_bench_$(date +%s)"
    psql -q postgres://postgres@127.0.0.1:5432/postgres -c "CREATE DATABASE $db"
    echo "$db" > "$work/db"
    pg="postgres://postgres@127.0.0.1:5432/$db"
    prefix="bench$(date +%s)"
    url=$(start a DATABASE_URL="$pg" REDIS_URL=redis://127.0.0.1:6379 STOA_REDIS_PREFIX="$prefix")
    url2=$(start b DATABASE_URL="$pg" REDIS_URL=redis://127.0.0.1:6379 STOA_REDIS_PREFIX="$prefix")
    "$target/stoa-bench" --url "$url" --url2 "$url2" "$@" all --database-url "$pg"
    ;;
  *) echo "usage: bench/run.sh sqlite|postgres [stoa-bench args]"; exit 2 ;;
esac
