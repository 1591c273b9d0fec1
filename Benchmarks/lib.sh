# Shared by Benchmarks/http-bench.sh and Benchmarks/token-bench.sh (sourced, not run). Before sourcing,
# set BENCH_NAME (prefix of messages) and PORT; then call `bench_init TOOL…`, which checks the tools and
# the release binary, sets CLK_TCK, creates the temp dir $TMP and installs the traps that stop the server
# and remove $TMP on any exit. Sourcing changes to the repository root.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=.build/release/tessera
WARMUP_SECONDS=2
SERVER_PID=""
SERVER_LOG=""

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

bench_init() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is missing (make bench installs wrk and python3)"
    done
    [ -x "$BIN" ] || die "$BIN is missing: run make bench, or swift build -c release --product tessera"
    CLK_TCK=$(getconf CLK_TCK)
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

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
            echo "$BENCH_NAME: server $SERVER_PID still running 10 s after SIGTERM; SIGKILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    [ "$rc" = 0 ] || echo "$BENCH_NAME: server exited with status $rc (log: last lines below)" >&2
    [ "$rc" = 0 ] || tail -n 5 "$SERVER_LOG" >&2 || true
    SERVER_PID=""
}

cleanup() {
    stop_server
    rm -rf "$TMP"
}

# One GET /healthz on a fresh connection; true on 200 {"status":"ok"}.
healthz_ok() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
        printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
        reply=$(timeout 2 cat <&3) || exit 1
        [[ $reply == "HTTP/1.1 200"*'{"status":"ok"}'* ]]
    ) 2>/dev/null
}

# launch_server CONFIG LOG [PREFIX…]: `PREFIX… tessera serve --config CONFIG` (PREFIX e.g. `taskset -c 0`),
# stderr appended to LOG; waits for /healthz.
launch_server() {
    local config=$1
    ! healthz_ok || die "something already answers on 127.0.0.1:$PORT; set BENCH_PORT"
    SERVER_LOG=$2
    shift 2
    : >"$SERVER_LOG"
    # >> (O_APPEND) so the log can be truncated between runs.
    "$@" "$BIN" serve --config "$config" >>"$SERVER_LOG" 2>&1 &
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

# parse_wrk FILE: sets WRK_RPS, WRK_REQUESTS, WRK_P50, WRK_P99 and WRK_ERRORS (socket errors and
# non-2xx/3xx responses, ";"-separated, empty if none) from `wrk --latency` output.
parse_wrk() {
    local out=$1
    WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    WRK_REQUESTS=$(awk '/ requests in / { print $1 }' "$out")
    WRK_P50=$(awk '$1 == "50%" { print $2 }' "$out")
    WRK_P99=$(awk '$1 == "99%" { print $2 }' "$out")
    [ -n "$WRK_RPS" ] && [ -n "$WRK_REQUESTS" ] && [ -n "$WRK_P50" ] && [ -n "$WRK_P99" ] ||
        die "could not parse wrk output"
    WRK_ERRORS=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ *//' | paste -sd ';' -) || true
}

# The commit of the working tree, flagged when tracked files have uncommitted changes.
commit_description() {
    local commit
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        commit="$commit (with uncommitted changes)"
    fi
    echo "$commit"
}

machine_description() {
    local model
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "$(nproc) cores, ${model:-unknown CPU}, Linux $(uname -r), $(awk '/^MemTotal:/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
}
