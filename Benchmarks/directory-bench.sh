#!/usr/bin/env bash
# Directory benchmark of Tessera's LDAP federation (see Benchmarks/README.md, "Directory"):
#   1. a generated directory of BENCH_USERS people (default 100,000) in 100 groups, nested under one
#      role group, loaded with slapadd into a throwaway slapd on loopback;
#   2. the raw dump: ldapsearch with paged results reading every person with the mapped attributes;
#   3. tessera sync ldap --full: the first run (creates every account), then a run with nothing to change;
#   4. BENCH_CHANGED entries (default 1,000) changed with ldapmodify, then an incremental tessera sync ldap;
#   5. LDAP password sign-in through the token endpoint (password grant) with wrk, beside raw binds
#      (ldapwhoami, one process per bind, run one after another).
# Rerun with `make bench`, or this script once .build/release/tessera exists. Settings (environment):
# BENCH_USERS, BENCH_CHANGED, BENCH_PORT (18080), BENCH_SECONDS (10, per wrk run).
set -euo pipefail

BENCH_NAME=directory-bench
PORT=${BENCH_PORT:-18080}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
USERS=${BENCH_USERS:-100000}
CHANGED=${BENCH_CHANGED:-1000}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
RAW_BINDS=300
PASSWORD="correct horse battery staple"
bench_init wrk python3 openssl slapd slapadd ldapsearch ldapmodify ldapwhoami awk timeout date
[ "$CHANGED" -le "$USERS" ] || die "BENCH_CHANGED must not exceed BENCH_USERS"

SLAPD_PID=""
stop_slapd() {
    [ -n "$SLAPD_PID" ] || return 0
    kill -KILL "$SLAPD_PID" 2>/dev/null || true
    wait "$SLAPD_PID" 2>/dev/null || true
    SLAPD_PID=""
}
trap 'stop_slapd; cleanup' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# 1. The directory.
echo "== generating $USERS people" >&2
python3 - "$USERS" "$PASSWORD" >"$TMP/directory.ldif" <<'PY'
import sys
users, password = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
out.write("""dn: dc=example,dc=com
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=com
objectClass: organizationalUnit
ou: services

dn: cn=tessera,ou=services,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: tessera
userPassword: service-secret

""")
for i in range(1, users + 1):
    out.write(f"""dn: uid=user{i:06d},ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: user{i:06d}
cn: Person {i}
givenName: Person
sn: Number{i}
mail: user{i:06d}@example.com
employeeNumber: {i}
departmentNumber: Department {i % 50}
userPassword: {password}

""")
teams = 100
for t in range(teams):
    members = "".join(f"member: uid=user{i:06d},ou=people,dc=example,dc=com\n" for i in range(t + 1, users + 1, teams))
    out.write(f"dn: cn=team-{t:02d},ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: team-{t:02d}\n{members}\n")
teams_list = "".join(f"member: cn=team-{t:02d},ou=groups,dc=example,dc=com\n" for t in range(teams))
out.write(f"dn: cn=staff,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: staff\n{teams_list}\n")
PY
mkdir -p "$TMP/slapd/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$TMP/slapd/key.pem" -out "$TMP/slapd/cert.pem" \
    -nodes -days 1 -subj /CN=localhost >/dev/null 2>&1 || die "openssl req failed"
sed -e "s|@DIR@|$TMP/slapd|g" -e "s|@CERTIFICATE@|$TMP/slapd/cert.pem|" -e "s|@KEY@|$TMP/slapd/key.pem|" \
    -e 's|maxsize 104857600|maxsize 4294967296|' Fixtures/ldap/slapd.conf.template >"$TMP/slapd/slapd.conf"
echo "== slapadd" >&2
t0=$(now)
slapadd -q -f "$TMP/slapd/slapd.conf" -l "$TMP/directory.ldif" >/dev/null 2>&1 || die "slapadd failed"
LOAD_S=$(elapsed "$t0" "$(now)")
LDAP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
slapd -f "$TMP/slapd/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d 0 >/dev/null 2>&1 &
SLAPD_PID=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$LDAP_PORT") 2>/dev/null && break
    sleep 0.1
done
LDAP_URI="ldap://127.0.0.1:$LDAP_PORT"
SERVICE=(-x -H "$LDAP_URI" -D cn=tessera,ou=services,dc=example,dc=com -w service-secret)

# 2. The raw dump: every person, the attributes the OpenLDAP mapping reads, 500 per page.
echo "== ldapsearch paged dump" >&2
t0=$(now)
DUMPED=$(ldapsearch "${SERVICE[@]}" -b ou=people,dc=example,dc=com -E pr=500/noprompt -LLL \
    "(objectClass=inetOrgPerson)" entryUUID givenName sn uid mail employeeNumber departmentNumber modifyTimestamp |
    grep -c '^dn: ')
DUMP_S=$(elapsed "$t0" "$(now)")
[ "$DUMPED" = "$USERS" ] || die "ldapsearch returned $DUMPED entries, expected $USERS"

# 3. Full syncs.
printf 'service-secret\n' >"$TMP/ldap-password"
CONFIG=$TMP/tessera.json5
cat >"$CONFIG" <<EOC
{"server": {"host": "127.0.0.1", "port": $PORT},
 "store": {"sqlite": {"path": "$TMP/tessera.sqlite3"}},
 "oauth": {"issuer": "http://127.0.0.1:$PORT", "key_encryption_key_file": "$TMP/kek",
           "password_attempts_per_minute": 100000},
 "directory": {"ldap": {"enabled": true, "uri": "$LDAP_URI", "transport": "plaintext",
   "bind_dn": "cn=tessera,ou=services,dc=example,dc=com", "bind_password_file": "$TMP/ldap-password",
   "user_base": "ou=people,dc=example,dc=com", "group_base": "ou=groups,dc=example,dc=com",
   "group_roles": ["staff: cn=staff,ou=groups,dc=example,dc=com"], "sync_interval_seconds": 0}},
 "log": {"level": "warning"}}
EOC
sync_run() {   # sync_run NAME [FLAGS…]: times one tessera sync ldap; its summary line goes to $TMP/NAME.txt
    local name=$1 t
    shift
    echo "== tessera sync ldap $*" >&2
    t=$(now)
    timeout 3600 "$BIN" sync ldap --config "$CONFIG" "$@" 2>/dev/null | tail -n 1 >"$TMP/$name.txt" ||
        die "tessera sync ldap $* failed"
    elapsed "$t" "$(now)"
}
FIRST_S=$(sync_run first --full)
grep -q "Synced (full): $USERS created" "$TMP/first.txt" || die "first sync: $(cat "$TMP/first.txt")"
STEADY_S=$(sync_run steady --full)
grep -q "$USERS unchanged" "$TMP/steady.txt" || die "steady sync: $(cat "$TMP/steady.txt")"

# 4. Changed entries, then an incremental sync.
echo "== ldapmodify $CHANGED entries" >&2
sleep 1   # modifyTimestamp has a one-second resolution: changes must be newer than the last run's newest
python3 - "$CHANGED" "$USERS" >"$TMP/changes.ldif" <<'PY'
import sys
changed, users = int(sys.argv[1]), int(sys.argv[2])
step = max(1, users // changed)
for n, i in enumerate(range(1, users + 1, step)):
    if n == changed:
        break
    print(f"dn: uid=user{i:06d},ou=people,dc=example,dc=com\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: Moved\n")
PY
ldapmodify -x -H "$LDAP_URI" -D cn=admin,dc=example,dc=com -w admin-secret -f "$TMP/changes.ldif" >/dev/null ||
    die "ldapmodify failed"
INCREMENTAL_S=$(sync_run incremental)
grep -q "Synced (incremental): 0 created, $CHANGED updated" "$TMP/incremental.txt" ||
    die "incremental sync: $(cat "$TMP/incremental.txt")"

# 5. Sign-in through the token endpoint, and raw binds.
CLIENT_JSON=$("$BIN" clients create --config "$CONFIG" --name bench --grant password --json) ||
    die "tessera clients create failed"
BASIC=$(python3 -c 'import base64, json, sys; c = json.loads(sys.argv[1]); pair = c["client_id"] + ":" + c["client_secret"]; print(base64.b64encode(pair.encode()).decode())' "$CLIENT_JSON")
launch_server "$CONFIG" "$TMP/tessera.log"
cat >"$TMP/signin.lua" <<EOL
wrk.method = "POST"
wrk.body = "grant_type=password&username=user000001&password=correct+horse+battery+staple"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
EOL
URL="http://127.0.0.1:$PORT/oauth2/token"
echo "== wrk -t2 -c16 -d${SECONDS_PER_RUN}s password grant" >&2
timeout $((WARMUP_SECONDS + 10)) wrk -t2 -c16 -d"${WARMUP_SECONDS}s" -s "$TMP/signin.lua" "$URL" >/dev/null
timeout $((SECONDS_PER_RUN + 15)) wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --latency -s "$TMP/signin.lua" "$URL" >"$TMP/wrk.txt"
cat "$TMP/wrk.txt" >&2
parse_wrk "$TMP/wrk.txt"
stop_server
echo "== $RAW_BINDS ldapwhoami binds, one after another" >&2
t0=$(now)
for i in $(seq "$RAW_BINDS"); do
    ldapwhoami -x -H "$LDAP_URI" -D "uid=user000001,ou=people,dc=example,dc=com" -w "$PASSWORD" >/dev/null ||
        die "ldapwhoami failed"
done
RAW_S=$(elapsed "$t0" "$(now)")

cat <<EOS

================ Tessera directory benchmark: summary ================
rerun:    make bench        (or Benchmarks/directory-bench.sh once .build/release/tessera is built)
date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)
commit:   $(commit_description)
machine:  $(machine_description)
slapd:    $(slapd -VV 2>&1 | head -n 1 | sed 's/^.*slapd //; s/ (.*$//')
directory: $USERS people in 100 groups nested in one role group; loaded with slapadd -q in $LOAD_S s

                                          seconds   entries/s
ldapsearch paged dump (raw)              $(printf '%8.2f %11.0f' "$DUMP_S" "$(awk -v n="$USERS" -v s="$DUMP_S" 'BEGIN { print n / s }')")
tessera sync ldap --full, first run      $(printf '%8.2f %11.0f' "$FIRST_S" "$(awk -v n="$USERS" -v s="$FIRST_S" 'BEGIN { print n / s }')")   creates every account
tessera sync ldap --full, nothing to do  $(printf '%8.2f %11.0f' "$STEADY_S" "$(awk -v n="$USERS" -v s="$STEADY_S" 'BEGIN { print n / s }')")   $(awk -v a="$STEADY_S" -v b="$DUMP_S" 'BEGIN { printf "%.2fx the raw dump", a / b }')
tessera sync ldap, $CHANGED changed (incr.) $(printf '%8.2f' "$INCREMENTAL_S")

password grant via LDAP (wrk -t2 -c16): $WRK_RPS sign-ins/s, p50 $WRK_P50, p99 $WRK_P99${WRK_ERRORS:+ ($WRK_ERRORS)}
raw binds (ldapwhoami, $RAW_BINDS in a row, a process each): $(awk -v n="$RAW_BINDS" -v s="$RAW_S" 'BEGIN { printf "%.0f binds/s, %.1f ms each", n / s, s * 1000 / n }')
EOS
