#!/usr/bin/env bash
# HTTP benchmark of `tessera serve` (see Benchmarks/README.md):
#   1. GET /healthz throughput and latency with wrk at 16 and 256 connections, log level "warning";
#   2. the same at log level "info" (one JSON request-log line per request, as in production);
#   3. server VmRSS with 10,000 idle keep-alive connections (Benchmarks/idle_connections.py).
# Everything goes to 127.0.0.1. Rerun with `make bench` (builds the release binary, installs wrk and
# python3 if missing), or this script from anywhere once .build/release/tessera exists.
# Settings (environment): BENCH_PORT (18080), BENCH_SECONDS (10, per wrk run), BENCH_THREADS (2, wrk
# threads), BENCH_IDLE_CONNECTIONS (10000).
set -euo pipefail

BENCH_NAME=http-bench
PORT=${BENCH_PORT:-18080}
# Shared helpers: server start/stop, traps, temp dir $TMP, wrk parsing (cds to the repository root).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
IDLE_CONNECTIONS=${BENCH_IDLE_CONNECTIONS:-10000}
CONNECTION_COUNTS=(16 256)
bench_init wrk python3 getconf awk timeout

# start_server LEVEL NAME: fresh SQLite file, server stderr appended to $TMP/NAME.log; waits for /healthz.
start_server() {
    local level=$1 name=$2
    cat >"$TMP/$name.json5" <<EOF
{"server": {"host": "127.0.0.1", "port": $PORT, "max_connections": 20000, "idle_timeout_seconds": 300},
 "store": {"sqlite": {"path": "$TMP/$name.sqlite3"}},
 "log": {"level": "$level"}}
EOF
    launch_server "$TMP/$name.json5" "$TMP/$name.log"
}

WRK_ROWS=()
# run_wrk LEVEL CONNECTIONS: 2 s warm-up (not recorded), then the measured run.
run_wrk() {
    local level=$1 conns=$2 url="http://127.0.0.1:$PORT/healthz"
    local out="$TMP/wrk-$level-$conns.txt"
    echo "== wrk -t$THREADS -c$conns -d${SECONDS_PER_RUN}s --latency $url  (log level $level)" >&2
    timeout $((WARMUP_SECONDS + 10)) wrk -t"$THREADS" -c"$conns" -d"${WARMUP_SECONDS}s" "$url" >/dev/null
    : >"$SERVER_LOG"
    local t0 t1
    t0=$(cpu_ticks)
    timeout $((SECONDS_PER_RUN + 15)) wrk -t"$THREADS" -c"$conns" -d"${SECONDS_PER_RUN}s" --latency "$url" >"$out"
    t1=$(cpu_ticks)
    cat "$out" >&2
    server_alive || die "server died during the wrk run"
    local log_lines
    parse_wrk "$out"
    log_lines=$(wc -l <"$SERVER_LOG")
    : >"$SERVER_LOG"
    WRK_ROWS+=("$(awk -v level="$level" -v c="$conns" -v rps="$WRK_RPS" -v p50="$WRK_P50" -v p99="$WRK_P99" \
        -v req="$WRK_REQUESTS" -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v s="$SECONDS_PER_RUN" \
        -v rss="$(rss_kib)" -v lines="$log_lines" -v err="${WRK_ERRORS:-none}" 'BEGIN {
            printf "%-8s %5s %12.0f %9s %9s %13.1f %10.2f %9.1f %9d  %s\n", level, c, rps, p50, p99,
                dt / hz * 1e6 / req, dt / hz / s, rss / 1024, lines, err }')")
}

echo "http-bench: temp dir $TMP; CLK_TCK $CLK_TCK" >&2

# 1. log level warning: throughput and latency.
start_server warning wrk-warning
for c in "${CONNECTION_COUNTS[@]}"; do run_wrk warning "$c"; done
stop_server

# 2. log level info: every request writes a JSON line (to a file in the temp dir).
start_server info wrk-info
for c in "${CONNECTION_COUNTS[@]}"; do run_wrk info "$c"; done
stop_server

# 3. idle keep-alive connections, on a fresh server (log level warning).
echo "== $IDLE_CONNECTIONS idle keep-alive connections" >&2
start_server warning idle
IDLE_JSON=$(timeout 150 python3 Benchmarks/idle_connections.py --port "$PORT" --pid "$SERVER_PID" \
    --count "$IDLE_CONNECTIONS" --deadline 120) || die "idle-connection run failed: ${IDLE_JSON:-no output}"
echo "$IDLE_JSON" >&2
healthz_ok || die "server does not answer /healthz after the idle-connection run"
IDLE_SUMMARY=$(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])["summary"]))' "$IDLE_JSON")
stop_server

cat <<EOF

================ Tessera HTTP benchmark: summary ================
rerun:    make bench        (or Benchmarks/http-bench.sh once .build/release/tessera is built)
date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)
commit:   $(commit_description)
machine:  $(machine_description)
wrk:      -t$THREADS -d${SECONDS_PER_RUN}s --latency http://127.0.0.1:$PORT/healthz (after a ${WARMUP_SECONDS} s warm-up); wrk and the server share the cores

GET /healthz
log      conns   requests/s       p50       p99  server CPU  server CPU  RSS MiB  log lines  wrk errors
                                                 us/request     (cores)
EOF
printf '%s\n' "${WRK_ROWS[@]}"
cat <<EOF

$IDLE_CONNECTIONS idle keep-alive connections (each past one GET /healthz)
$IDLE_SUMMARY
EOF
