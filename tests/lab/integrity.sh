#!/bin/bash
# tests/lab/integrity.sh - TAP: large plain-HTTP downloads through
# enclave-proxyd's HTTP path arrive byte-exact: a fast reader, a reader
# held to 8 MB/s (backpressure), and two on one keep-alive connection.
# proxyd writes straight to sockets and reads responses in large pieces
# when nothing is queued; this is what keeps those shortcuts honest.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
PROXYD=${PROXYD:-$build/proxyd/enclave-proxyd}
NETNS_TOOL=$build/tests/lab/netns-tool
RULES_TOOL=$build/tests/lab/rules-tool
TPORT=15001
lab_preflight
tap_plan 4
PROXYD_PID="" HTTP_PID=""
cleanup() {
	[ -n "$PROXYD_PID" ] && kill -KILL "$PROXYD_PID" 2>/dev/null && wait "$PROXYD_PID" 2>/dev/null
	[ -n "$HTTP_PID" ] && kill -KILL "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	[ -n "${P:-}" ] && "$NETNS_TOOL" teardown --appliance "$LAB_NS" --name "${P}s1" --host-if "${P}h1" >/dev/null 2>&1
	[ -n "${P:-}" ] && rm -rf "/etc/netns/${P}s1"
	lab_down
}
trap cleanup EXIT
lab_up || tap_bail "lab_up failed"
P=$LAB_PREFIX
"$NETNS_TOOL" setup --appliance "$LAB_NS" --name "${P}s1" --host-if "${P}h1" \
	--sess-if eth0 --pool 198.19.0.0/24 >"$LAB_DIR/s1.out" 2>&1 || tap_bail "setup"
A1=$(sed -n "s/^sess_addr=//p" "$LAB_DIR/s1.out")
lab_exec lab "$RULES_TOOL" init --tproxy-port $TPORT --dns-port 5353 >/dev/null &&
	lab_exec lab "$RULES_TOOL" add --if "${P}h1" --mark 1 --addr "$A1" >/dev/null || tap_bail rules
mkdir -p "/etc/netns/${P}s1" && echo "nameserver $LAB_DNS" >"/etc/netns/${P}s1/resolv.conf"
cat >"$LAB_DIR/proxyd.conf" <<CONF
transparent_listen 0.0.0.0:$TPORT
dns_listen 0.0.0.0:5353
user nobody
exempt 198.18.0.0/15
source $A1/32 tenant lab allow allowed.test allowed.test:8080
CONF
chmod 711 "$LAB_DIR"
ip netns exec "$LAB_NS" "$PROXYD" -c "$LAB_DIR/proxyd.conf" -r "$LAB_DNS:53" -w 2 -D 0 >"$LAB_DIR/proxyd.out" 2>&1 &
PROXYD_PID=$!
W=$LAB_DIR/www; mkdir -p "$W"; chmod 755 "$W"
head -c 30000000 /dev/urandom >"$W/rand.bin"; chmod 644 "$W/rand.bin"
WANT=$(sha256sum <"$W/rand.bin" | cut -d' ' -f1)
ip netns exec "$INET_NS" python3 -m http.server 8080 --bind 198.18.1.10 --directory "$W" >"$LAB_DIR/http.out" 2>&1 &
HTTP_PID=$!
lab_wait_port lab 198.18.1.10 8080 || tap_bail "http.server"
lab_wait_port lab 0.0.0.0 $TPORT 2>/dev/null; sleep 0.5
sx() { ip netns exec "${P}s1" timeout 120 "$@"; }
got=$(sx curl -s http://allowed.test:8080/rand.bin | sha256sum | cut -d' ' -f1)
is "30 MB through proxyd, fast reader: byte-exact" "$WANT" "$got"
got=$(sx curl -s --limit-rate 8M http://allowed.test:8080/rand.bin | sha256sum | cut -d' ' -f1)
is "30 MB through proxyd, reader limited to 8 MB/s (backpressure): byte-exact" "$WANT" "$got"
got=$(sx python3 -c '
import http.client, hashlib
c = http.client.HTTPConnection("allowed.test", 8080, timeout=60)
out = []
for _ in range(2):
    c.request("GET", "/rand.bin", headers={"Connection": "keep-alive"})
    r = c.getresponse()
    out.append(hashlib.sha256(r.read()).hexdigest())
print(" ".join(out))')
is "two downloads in a row" "$WANT $WANT" "$got"
kill -0 "$PROXYD_PID" 2>/dev/null; tap_ok $? "proxyd still running"
