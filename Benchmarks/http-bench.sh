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

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=.build/release/tessera
PORT=${BENCH_PORT:-18080}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
IDLE_CONNECTIONS=${BENCH_IDLE_CONNECTIONS:-10000}
CONNECTION_COUNTS=(16 256)
WARMUP_SECONDS=2

die() { echo "http-bench: $*" >&2; exit 1; }
for tool in wrk python3 getconf awk timeout; do
    command -v "$tool" >/dev/null || die "$tool is missing (make bench installs wrk and python3)"
done
[ -x "$BIN" ] || die "$BIN is missing: run make bench, or swift build -c release --product tessera"
CLK_TCK=$(getconf CLK_TCK)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")
SERVER_PID=""
SERVER_LOG=""

# True while the server process exists and is not a zombie.
server_alive() {
    [ -n "$SERVER_PID" ] || return 1
    local state
    state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$SERVER_PID/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# SIGTERM (graceful), SIGKILL after 10 s; prints a warning if the exit was not clean.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    local rc=0
    if server_alive; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do server_alive || break; sleep 0.1; done
        if server_alive; then
            echo "http-bench: server $SERVER_PID still running 10 s after SIGTERM; SIGKILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    [ "$rc" = 0 ] || echo "http-bench: server exited with status $rc (log: last lines below)" >&2
    [ "$rc" = 0 ] || tail -n 5 "$SERVER_LOG" >&2 || true
    SERVER_PID=""
}

cleanup() {
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One GET /healthz on a fresh connection; true on 200 {"status":"ok"}.
healthz_ok() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
        printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
        reply=$(timeout 2 cat <&3) || exit 1
        [[ $reply == "HTTP/1.1 200"*'{"status":"ok"}'* ]]
    ) 2>/dev/null
}

# start_server LEVEL NAME: fresh SQLite file, server stderr appended to $TMP/NAME.log; waits for /healthz.
start_server() {
    local level=$1 name=$2
    ! healthz_ok || die "something already answers on 127.0.0.1:$PORT; set BENCH_PORT"
    cat >"$TMP/$name.json5" <<EOF
{"server": {"host": "127.0.0.1", "port": $PORT, "max_connections": 20000, "idle_timeout_seconds": 300},
 "store": {"sqlite": {"path": "$TMP/$name.sqlite3"}},
 "log": {"level": "$level"}}
EOF
    SERVER_LOG=$TMP/$name.log
    : >"$SERVER_LOG"
    # >> (O_APPEND) so the log can be truncated between runs.
    "$BIN" serve --config "$TMP/$name.json5" >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 200); do
        server_alive || { tail -n 20 "$SERVER_LOG" >&2; die "server exited during start-up"; }
        healthz_ok && return 0
        sleep 0.1
    done
    die "server not answering /healthz 20 s after start"
}

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }   # utime + stime
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

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
    local rps requests p50 p99 errors log_lines
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    requests=$(awk '/ requests in / { print $1 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    [ -n "$rps" ] && [ -n "$requests" ] && [ -n "$p50" ] && [ -n "$p99" ] || die "could not parse wrk output"
    errors=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ *//' | paste -sd ';' -) || true
    log_lines=$(wc -l <"$SERVER_LOG")
    : >"$SERVER_LOG"
    WRK_ROWS+=("$(awk -v level="$level" -v c="$conns" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
        -v req="$requests" -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v s="$SECONDS_PER_RUN" \
        -v rss="$(rss_kib)" -v lines="$log_lines" -v err="${errors:-none}" 'BEGIN {
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

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

cat <<EOF

================ Tessera HTTP benchmark: summary ================
rerun:    make bench        (or Benchmarks/http-bench.sh once .build/release/tessera is built)
date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)
commit:   $commit
machine:  $(nproc) cores, ${model:-unknown CPU}, Linux $(uname -r), $(awk '/^MemTotal:/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)
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
