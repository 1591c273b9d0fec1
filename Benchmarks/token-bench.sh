#!/usr/bin/env bash
# Token endpoint benchmark of `tessera serve` (see Benchmarks/README.md, "Token endpoint"):
#   1. this machine's raw ES256 signing rate on one core: `openssl speed -seconds 3 ecdsap256`;
#   2. POST /oauth2/token (grant_type=client_credentials, HTTP Basic client secret) with wrk at 16 and
#      64 connections: requests/s, p50/p99, server CPU time per token (/proc/PID/stat) and the server's
#      disk writes during the run (/proc/PID/io write_bytes, and whether the SQLite files changed);
#   3. POST /oauth2/introspect of one access token with wrk at 16 connections, measured the same way;
#   4. on dedicated cores (two or more cores): the raw signing rate on core 0, then the server alone on
#      core 0 (one event loop) and wrk (one thread) on core 1, token runs at 16 and 64 connections.
# It then compares the server CPU time per token with the raw signing time (target: at most 2×).
# Everything goes to 127.0.0.1. Rerun with `make bench`, or this script from anywhere once
# .build/release/tessera exists. Settings (environment): BENCH_PORT (18080), BENCH_SECONDS (10, per wrk
# run), BENCH_THREADS (2, wrk threads).
set -euo pipefail

BENCH_NAME=token-bench
PORT=${BENCH_PORT:-18080}
# Shared helpers: server start/stop, traps, temp dir $TMP, wrk parsing (cds to the repository root).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
SHARED_THREADS=$THREADS
SPEED_SECONDS=3
TARGET_RATIO=2
bench_init wrk python3 openssl getconf awk timeout stat taskset nproc

echo "$BENCH_NAME: temp dir $TMP; CLK_TCK $CLK_TCK" >&2

# raw_signing [PREFIX…]: `PREFIX… openssl speed -seconds 3 ecdsap256`; sets SIGN_PER_S and SIGN_US.
raw_signing() {
    echo "== $* openssl speed -seconds $SPEED_SECONDS ecdsap256" >&2
    timeout $((SPEED_SECONDS * 2 + 30)) "$@" openssl speed -seconds "$SPEED_SECONDS" ecdsap256 \
        >"$TMP/openssl-speed.txt" 2>&1 || { cat "$TMP/openssl-speed.txt" >&2; die "openssl speed failed"; }
    grep -E 'sign/s|nistp256' "$TMP/openssl-speed.txt" >&2 || true
    # " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  51746.5  16956.0": the 7th field is sign/s.
    SIGN_PER_S=$(awk '/256 bits ecdsa \(nistp256\)/ { print $7; exit }' "$TMP/openssl-speed.txt")
    awk -v r="$SIGN_PER_S" 'BEGIN { exit !(r + 0 > 0) }' || die "could not parse the openssl speed output"
    SIGN_US=$(awk -v r="$SIGN_PER_S" 'BEGIN { printf "%.2f", 1e6 / r }')
}

# 1. Raw ES256 signing rate, one core, before the server starts (nothing else of ours is running).
raw_signing
SHARED_SIGN_PER_S=$SIGN_PER_S
SHARED_SIGN_US=$SIGN_US

# 2. Server with an OAuth configuration and one client_credentials client, registered before the start.
CONFIG=$TMP/tessera.json5
cat >"$CONFIG" <<EOF
{"server": {"host": "127.0.0.1", "port": $PORT},
 "store": {"sqlite": {"path": "$TMP/tessera.sqlite3"}},
 "oauth": {"issuer": "http://127.0.0.1:$PORT", "key_encryption_key_file": "$TMP/kek"},
 "log": {"level": "warning"}}
EOF
CLIENT_JSON=$(timeout 60 "$BIN" clients create --config "$CONFIG" --name bench --grant client_credentials \
    --scope mdm --json) || die "tessera clients create failed"
launch_server "$CONFIG" "$TMP/tessera.log"

# One token and one introspection by hand, checked; prints the Basic credentials and the access token.
read -r BASIC ACCESS_TOKEN < <(timeout 30 python3 - "$PORT" "$CLIENT_JSON" <<'PY'
import base64, json, sys, urllib.request
port, client = sys.argv[1], json.loads(sys.argv[2])
basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
def post(path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(), headers={
        "Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
token = post("/oauth2/token", "grant_type=client_credentials")
header = json.loads(base64.urlsafe_b64decode(token["access_token"].split(".")[0] + "=="))
assert header["alg"] == "ES256", header
introspection = post("/oauth2/introspect", "token=" + token["access_token"])
assert introspection.get("active") is True, introspection
print(basic, token["access_token"])
PY
) || die "token request or introspection check failed"
[ -n "${ACCESS_TOKEN:-}" ] || die "no access token"

wrk_script() {   # wrk_script NAME BODY
    cat >"$TMP/$1.lua" <<EOF
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
EOF
}
wrk_script token "grant_type=client_credentials"
wrk_script introspect "token=$ACCESS_TOKEN"

write_bytes() { awk '$1 == "write_bytes:" { print $2 }' "/proc/$SERVER_PID/io"; }
# Size and modification time (ns) of the SQLite database, WAL and shared-memory files.
sqlite_state() { stat -c '%n %s %.9Y' "$TMP"/tessera.sqlite3* 2>/dev/null || true; }

ROWS=()
TOKEN_CPU_US=()
CORES=shared    # the label of the runs: "shared" (wrk and the server on all cores) or "dedicated"
WRK=(wrk)       # the wrk command, with a taskset prefix on dedicated cores
# run_wrk NAME PATH CONNECTIONS: 2 s warm-up (not recorded), then the measured run.
run_wrk() {
    local name=$1 path=$2 conns=$3 url="http://127.0.0.1:$PORT$2"
    local out="$TMP/wrk-$name-$conns-$CORES.txt"
    echo "== ${WRK[*]} -t$THREADS -c$conns -d${SECONDS_PER_RUN}s --latency -s $name.lua $url" >&2
    timeout $((WARMUP_SECONDS + 10)) "${WRK[@]}" -t"$THREADS" -c"$conns" -d"${WARMUP_SECONDS}s" -s "$TMP/$name.lua" \
        "$url" >/dev/null
    : >"$SERVER_LOG"
    local t0 t1 w0 w1 files0 files1
    files0=$(sqlite_state)
    w0=$(write_bytes)
    t0=$(cpu_ticks)
    timeout $((SECONDS_PER_RUN + 15)) "${WRK[@]}" -t"$THREADS" -c"$conns" -d"${SECONDS_PER_RUN}s" --latency \
        -s "$TMP/$name.lua" "$url" >"$out"
    t1=$(cpu_ticks)
    w1=$(write_bytes)
    files1=$(sqlite_state)
    cat "$out" >&2
    server_alive || die "server died during the wrk run"
    parse_wrk "$out"
    local changed=no log_lines cpu_us
    [ "$files0" = "$files1" ] || changed=yes
    log_lines=$(wc -l <"$SERVER_LOG")
    [ "$log_lines" = 0 ] || { echo "$BENCH_NAME: the server logged during the run:" >&2; tail -n 3 "$SERVER_LOG" >&2; }
    : >"$SERVER_LOG"
    cpu_us=$(awk -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v req="$WRK_REQUESTS" 'BEGIN { printf "%.1f", dt / hz * 1e6 / req }')
    [ "$name" != token ] || TOKEN_CPU_US+=("$CORES $conns $cpu_us $SIGN_US")
    ROWS+=("$(awk -v name="$path" -v cores="$CORES" -v c="$conns" -v rps="$WRK_RPS" -v p50="$WRK_P50" \
        -v p99="$WRK_P99" -v cpu="$cpu_us" -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v s="$SECONDS_PER_RUN" \
        -v wb="$((w1 - w0))" -v changed="$changed" -v lines="$log_lines" -v err="${WRK_ERRORS:-none}" 'BEGIN {
            printf "%-19s %-9s %5s %11.0f %9s %9s %11.1f %10.2f %10.1f %7s %9d  %s\n", name, cores, c, rps,
                p50, p99, cpu, dt / hz / s, wb / 1024, changed, lines, err }')")
}

for c in 16 64; do run_wrk token /oauth2/token "$c"; done
run_wrk introspect /oauth2/introspect 16
stop_server

# 4. Dedicated cores: the raw rate on core 0, then the server alone on core 0 with one event loop and
# wrk (one thread) on core 1. Like for like with the single-core signing figure, and without what
# sharing every core with the load generator adds to the server's CPU time (preemption by wrk's
# threads, migrations, cache contention), which makes the shared-core figure vary from run to run.
DEDICATED=no
if [ "$(nproc)" -ge 2 ]; then
    DEDICATED=yes
    raw_signing taskset -c 0
    DEDICATED_CONFIG=$TMP/tessera-dedicated.json5
    sed 's/"port": '"$PORT"'}/"port": '"$PORT"', "event_loop_threads": 1}/' "$CONFIG" >"$DEDICATED_CONFIG"
    grep -q '"event_loop_threads": 1' "$DEDICATED_CONFIG" || die "could not write the dedicated-core configuration"
    launch_server "$DEDICATED_CONFIG" "$TMP/tessera.log" taskset -c 0
    CORES=dedicated
    WRK=(taskset -c 1 wrk)
    THREADS=1
    for c in 16 64; do run_wrk token /oauth2/token "$c"; done
    stop_server
else
    echo "$BENCH_NAME: one core only: no dedicated-core runs" >&2
fi

cat <<EOF

================ Tessera token endpoint benchmark: summary ================
rerun:    make bench        (or Benchmarks/token-bench.sh once .build/release/tessera is built)
date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)
commit:   $(commit_description)
machine:  $(machine_description)
openssl:  $(openssl version)
wrk:      -t$SHARED_THREADS -d${SECONDS_PER_RUN}s --latency, POST with HTTP Basic client authentication (after a ${WARMUP_SECONDS} s warm-up); "shared": wrk and the server share the cores

raw ES256 signing (openssl speed -seconds $SPEED_SECONDS ecdsap256, one core): $SHARED_SIGN_PER_S sign/s = $SHARED_SIGN_US us per signature
EOF
[ "$DEDICATED" = no ] || cat <<EOF
dedicated cores: the server on core 0 (event_loop_threads 1), wrk -t1 on core 1; raw signing on core 0: $SIGN_PER_S sign/s = $SIGN_US us
EOF
cat <<EOF

endpoint            cores     conns  requests/s       p50       p99  server CPU server CPU disk write  sqlite log lines  wrk errors
                                                                     us/request    (cores)        KiB changed
EOF
printf '%s\n' "${ROWS[@]}"
echo
echo "server CPU per token vs raw signing time (target: <= ${TARGET_RATIO}x, i.e. the signature is at least half)"
for entry in "${TOKEN_CPU_US[@]}"; do
    read -r cores conns cpu_us sign_us <<<"$entry"
    awk -v cores="$cores" -v c="$conns" -v cpu="$cpu_us" -v sign="$sign_us" -v target="$TARGET_RATIO" 'BEGIN {
        ratio = cpu / sign
        printf "  %-9s %2d connections: %.1f us / %.2f us = %.2fx; signature share of server CPU %.0f %%; target %s\n",
            cores, c, cpu, sign, ratio, 100 / ratio, ratio <= target ? "met" : "NOT met" }'
done
