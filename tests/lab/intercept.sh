#!/usr/bin/env bash
# enclave-proxyd's half of service bindings, end to end without sessiond:
# sessions with bindings arrive on the control socket; clients in a session
# namespace reach api.test and git.test (tests/lab/lib.sh) through the TLS
# interception, which injects the credential the sandbox never holds, strips
# the ones it sends, refuses TRACE and Host != SNI, masks the credential in
# echoed responses, streams bodies, SSE and WebSocket, and refuses an
# upstream it cannot verify. Everything else stays SNI pass-through.
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
tap_plan 36

PROXYD_PID=""
stop_proxyd() {
	[ -n "$PROXYD_PID" ] || return 0
	kill -TERM "$PROXYD_PID" 2>/dev/null
	for _ in $(seq 1 30); do
		kill -0 "$PROXYD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PROXYD_PID" 2>/dev/null
	wait "$PROXYD_PID" 2>/dev/null
	PROXYD_PID=""
}
cleanup() {
	stop_proxyd
	if [ -n "${P:-}" ]; then
		rm -rf "/etc/netns/${P}s1"
		"$NETNS_TOOL" teardown --appliance "$LAB_NS" --name "${P}s1" \
			--host-if "${P}h1" >/dev/null 2>&1
	fi
	lab_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
lab_up || tap_bail "lab_up failed"
P=$LAB_PREFIX
S1=${P}s1

"$NETNS_TOOL" setup --appliance "$LAB_NS" --name "$S1" --host-if "${P}h1" \
	--sess-if eth0 --pool 198.19.0.0/24 >"$LAB_DIR/s1.out" 2>&1 ||
	tap_bail "session setup failed: $(cat "$LAB_DIR/s1.out")"
A1=$(sed -n 's/^sess_addr=//p' "$LAB_DIR/s1.out")
GW1=$(sed -n 's/^host_addr=//p' "$LAB_DIR/s1.out")
lab_exec lab "$RULES_TOOL" init --tproxy-port $TPORT --dns-port $DPORT >/dev/null &&
	lab_exec lab "$RULES_TOOL" add --if "${P}h1" --mark 1 --addr "$A1" >/dev/null ||
	tap_bail "rules-tool failed"
mkdir -p "/etc/netns/$S1" && echo "nameserver $LAB_DNS" >"/etc/netns/$S1/resolv.conf"

API_KEY=$(cat "$LAB_API_KEY_FILE")
GIT_TOKEN=$(cat "$LAB_GIT_TOKEN_FILE")
IC=$LAB_DIR/intercept
mkdir -p "$IC"
CONF=$LAB_DIR/proxyd.conf
EVENTS=$LAB_DIR/proxyd-events.log
SOCK=$LAB_DIR/proxyd.sock
write_conf() { # $1: "ca" for the interception CA, $2: "lab" to trust the lab CA upstream
	{
		echo "transparent_listen 0.0.0.0:$TPORT"
		echo "dns_listen 0.0.0.0:$DPORT"
		echo "explicit_listen 198.18.0.1:3128"
		echo "event_log $EVENTS"
		echo "user nobody"
		echo "control_socket $SOCK"
		echo "exempt 198.18.0.0/15"
		echo "sniff_timeout_ms 300"
		if [ "$1" = ca ]; then
			echo "intercept_ca_cert $IC/ca.pem"
			echo "intercept_ca_key $IC/ca.key"
		fi
		[ "$2" = lab ] && echo "upstream_ca $LAB_CA"
	} >"$CONF"
}
start_proxyd() {
	ip netns exec "$LAB_NS" "$PROXYD" -d -c "$CONF" -r "$LAB_DNS:53" -w 2 -D 500 \
		>>"$LAB_DIR/proxyd.out" 2>&1 &
	PROXYD_PID=$!
	for _ in $(seq 1 50); do
		lab_exec lab ss -Hltn "sport = :$TPORT" | grep -q LISTEN && [ -S "$SOCK" ] && return 0
		kill -0 "$PROXYD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# ctl JSON...: one request line each on the control socket; prints the
# replies (events interleaved are skipped).
ctl() {
	python3 - "$SOCK" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for line in sys.argv[2:]:
    f.write(line.encode() + b"\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            print(json.dumps(r, sort_keys=True))
            break
PY
}
# session OP ALLOW_HTTP: session_add or _update for s1, bindings api and
# github, and an allow list that names neither bound host.
session() {
	python3 - "$1" "$A1" "$2" "$LAB_API_KEY_FILE" "$LAB_GIT_TOKEN_FILE" <<'PY'
import json, sys
op, src, allow_http, keyf, tokf = sys.argv[1:]
print(json.dumps({"v": 1, "op": op, "req": 1, "id": "ses_icpt", "tenant": "lab",
    "source": src, "allow": ["allowed.test"],
    "bindings": [
        {"name": "api", "hosts": ["api.test"], "inject": {"type": "bearer"},
         "secret": open(keyf).read().strip(), "allow_http": allow_http == "1"},
        {"name": "github", "hosts": ["git.test"],
         "inject": {"type": "basic", "user": "x-access-token"},
         "secret": open(tokf).read().strip()}]}))
PY
}
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
s1() { lab_exec "$S1" "$@"; }
ICURL=(curl -sS --max-time 10 --cacert "$IC/ca.pem")

# --- the CA, created at first start ------------------------------------------
write_conf ca lab
chmod 711 "$LAB_DIR"
start_proxyd || tap_bail "proxyd did not start: $(cat "$LAB_DIR/proxyd.out")"
is "the interception CA was created: key 0600 owned by nobody, certificate 0644" \
	"600 nobody 644" "$(stat -c '%a %U' "$IC/ca.key") $(stat -c '%a' "$IC/ca.pem")"
out=$(openssl x509 -in "$IC/ca.pem" -noout -subject -ext basicConstraints,keyUsage 2>&1)
is "CA: EC P-256, CA:TRUE pathlen 0, keyCertSign, subject names Enclave" "1 1 1 1" \
	"$(echo "$out" | grep -c 'CN = Enclave interception CA [0-9a-f]\{16\}') $(echo "$out" | grep -c 'CA:TRUE, pathlen:0') $(echo "$out" | grep -c 'Certificate Sign') $(openssl x509 -in "$IC/ca.pem" -noout -text | grep -q 'prime256v1\|P-256' && echo 1)"

is "session_add with bindings is accepted" '{"ok": true, "req": 1, "v": 1}' \
	"$(ctl "$(session session_add 0)")"

# --- api.test: bearer -------------------------------------------------------
is "curl: whoami succeeds with the injected key (api.test is not in allow)" \
	'{"ok":true} 200' "$(s1 "${ICURL[@]}" -w ' %{http_code}' https://api.test/v1/whoami | tr -d '\n')"
# s_client prints its verdict once more per TLS 1.3 session ticket that
# arrives before it quits: whether it says ok matters, not how often.
printf 'Q\n' | s1 timeout 5 openssl s_client -connect api.test:443 -servername api.test \
	-CAfile "$IC/ca.pem" -verify_return_error -alpn h2,http/1.1 >"$LAB_DIR/leaf.out" 2>&1
is "the leaf: issued by the interception CA for api.test, verified, ALPN http/1.1" "1 1 1" \
	"$(grep -c 'issuer=.*Enclave interception CA' "$LAB_DIR/leaf.out") $(grep -c 'Verify return code: 0 (ok)' "$LAB_DIR/leaf.out") $(grep -c 'ALPN protocol: http/1.1' "$LAB_DIR/leaf.out")"
out=$(s1 "${ICURL[@]}" -H "Authorization: Bearer stolen-guess" -H "X-Api-Key: mine" \
	-H "Cookie: c=1" https://api.test/echo)
is "/echo: the server was authorized, yet sees neither the client's own credentials nor shows ours" \
	"True 0 0 0 0" \
	"$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorized"])') $(echo "$out" | grep -c stolen-guess) $(echo "$out" | grep -c -i 'x-api-key\|cookie') $(echo "$out" | grep -c -F -- "$API_KEY") $(echo "$out" | grep -c Bearer)"
is "/echo: the injected Authorization comes back masked, length kept" \
	"$(printf '%*s' $((7 + ${#API_KEY})) '' | tr ' ' '*')" \
	"$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["Authorization"])')"
is "/echo: identity coding was asked for" "identity" \
	"$(s1 "${ICURL[@]}" -H 'Accept-Encoding: gzip' https://api.test/echo |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"].get("Accept-Encoding"))')"
is "TRACE to a bound host: 405, never forwarded" "405" \
	"$(s1 "${ICURL[@]}" -o /dev/null -w '%{http_code}' -X TRACE https://api.test/)"
is "Host other than the SNI: 421" "421" \
	"$(s1 "${ICURL[@]}" -o /dev/null -w '%{http_code}' -H 'Host: allowed.test' https://api.test/echo)"
out=$(s1 python3 - "$IC/ca.pem" <<'PY'
import http.client, json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
r = urllib.request.urlopen("https://api.test/v1/whoami", timeout=10, context=ctx)
c = http.client.HTTPSConnection("api.test", timeout=10, context=ctx)
for i in range(3):      # keep-alive: one connection, three injections
    c.request("GET", "/v1/whoami")
    st = c.getresponse()
    st.read()
print(r.status, st.status)
PY
)
is "python urllib and http.client keep-alive through the binding" "200 200" "$out"

# One TLS connection, requests written back to back: each judged on its own.
cat >"$LAB_DIR/pipe.py" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(("api.test", 443), timeout=5),
                    server_hostname="api.test")
reqs = {
    "pipeline": b"HEAD /v1/whoami HTTP/1.1\r\nHost: api.test\r\n\r\n"
                b"GET /v1/whoami HTTP/1.1\r\nHost: api.test\r\n\r\n"
                b"GET /v1/whoami HTTP/1.1\r\nHost: other.test\r\n\r\n",
    "big": b"GET / HTTP/1.1\r\nHost: api.test\r\nX-Pad: " + b"a" * 40000 + b"\r\n\r\n",
}[sys.argv[2]]
s.sendall(reqs)
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except (socket.timeout, ssl.SSLError, ConnectionResetError):
    pass
print(" ".join(l.split(b" ")[1].decode() for l in data.split(b"\n")
               if l.startswith(b"HTTP/1.1 ")))
PY
is "pipelined HEAD, GET, then Host other.test: 200 200, then 421 after both" "200 200 421" \
	"$(s1 python3 "$LAB_DIR/pipe.py" "$IC/ca.pem" pipeline)"
is "a request head over max_header_bytes: 431" "431" \
	"$(s1 python3 "$LAB_DIR/pipe.py" "$IC/ca.pem" big)"
is "CONNECT through the explicit proxy to a bound host is intercepted too" \
	'{"ok":true}' "$(s1 "${ICURL[@]}" -x "http://$GW1:3128" https://api.test/v1/whoami)"

# --- streaming through the interception -------------------------------------
t0=$(date +%s%N)
out=$(s1 "${ICURL[@]}" -N "https://api.test/sse?n=3&delay=300")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "SSE (chunked) streams through, spread over time" "3 slow" \
	"$(echo "$out" | grep -c '^data:') $([ $ms -ge 500 ] && echo slow || echo "fast:$ms")"
is "SSE close-delimited ends cleanly" "2 0" \
	"$(s1 "${ICURL[@]}" -N "https://api.test/sse?close=1&n=2&delay=10" | grep -c '^data:') $?"
head -c 300000 /dev/urandom >"$LAB_DIR/up.bin"
is "chunked upload" '{"bytes":300000}' \
	"$(s1 "${ICURL[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$LAB_DIR/up.bin" https://api.test/upload)"
out=$(s1 "${ICURL[@]}" -v -H 'Expect: 100-continue' --data-binary @"$LAB_DIR/up.bin" https://api.test/upload 2>&1)
is "Expect: 100-continue passes the interim 100 through" '1 {"bytes":300000}' \
	"$(echo "$out" | grep -c '^< HTTP/1.1 100') $(echo "$out" | grep '^{"')"
out=$(s1 python3 - "$IC/ca.pem" 2>&1 <<'PY'
import base64, os, socket, ssl, struct, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(("api.test", 443), timeout=5),
                    server_hostname="api.test")
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
f = s.makefile("rb")
status = f.readline().split(b" ")[1].decode()
while f.readline().strip():
    pass
def send(op, data):
    m = os.urandom(4)
    s.sendall(struct.pack("!BB", 0x80 | op, 0x80 | len(data)) + m +
              bytes(c ^ m[i % 4] for i, c in enumerate(data)))
def recv():
    b0, b1 = f.read(2)
    return b0 & 15, f.read(b1 & 0x7F)
send(1, b"hello ws")
op1, d1 = recv()
send(8, struct.pack("!H", 1000))
op2, d2 = recv()
print(status, op1, d1.decode(), op2)
PY
)
is "WebSocket: 101, then an opaque two-way relay" "101 1 hello ws 8" "$out"
dd if=/dev/urandom bs=1M count=8 2>/dev/null >"$LAB_DIR/big.bin"
is "an 8 MiB body up and its count back (backpressure both ways)" '{"bytes":8388608}' \
	"$(s1 "${ICURL[@]}" --max-time 30 --data-binary @"$LAB_DIR/big.bin" https://api.test/upload)"

# --- git.test: basic, a real git clone --------------------------------------
rm -rf "$LAB_DIR/clone"
out=$(s1 env GIT_SSL_CAINFO="$IC/ca.pem" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	HOME="$LAB_DIR" GIT_TERMINAL_PROMPT=0 git clone -q "$LAB_GIT_URL" "$LAB_DIR/clone" 2>&1)
is "git clone https://git.test/repo.git with the injected token" "0 $LAB_GIT_COMMIT" \
	"$? $(git -C "$LAB_DIR/clone" rev-parse HEAD 2>&1)"
is "the clone holds no token (remote URL, config)" 0 \
	"$(grep -r -c -F -- "$GIT_TOKEN" "$LAB_DIR/clone/.git" 2>/dev/null | awk -F: '{ s += $2 } END { print s + 0 }')"

# --- events ------------------------------------------------------------------
sleep 0.3
is "secret_injected events name binding and host" "yes yes" \
	"$([ "$(ev type=secret_injected binding=api host=api.test)" -ge 10 ] && echo yes) $([ "$(ev type=secret_injected binding=github host=git.test proto=tls)" -ge 2 ] && echo yes)"
is "refusals are audited: TRACE method_not_allowed, Host sni_mismatch (twice)" "1 2" \
	"$(ev type=egress_denied host=api.test reason=method_not_allowed) $(ev type=egress_denied host=api.test reason=sni_mismatch)"
is "connections to bound hosts are egress_allowed" "yes" \
	"$([ "$(ev type=egress_allowed host=api.test reason=allowed)" -ge 8 ] && echo yes)"

# --- plain HTTP to a bound host ---------------------------------------------
out=$(s1 curl -sS --max-time 5 -H 'Authorization: Bearer stolen-guess' http://api.test/echo)
is "plain HTTP without allow_http: client credentials stripped, none injected" "False 0" \
	"$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorized"])') $(echo "$out" | grep -c stolen-guess)"
ctl "$(session session_update 1)" >/dev/null
out=$(s1 curl -sS --max-time 5 http://api.test/echo)
is "plain HTTP with allow_http: injected, and masked in the echo" "True 0 0" \
	"$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorized"])') $(echo "$out" | grep -c -F -- "$API_KEY") $(echo "$out" | grep -c Bearer)"
is "plain HTTP TRACE to a bound host: 405" "405" \
	"$(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X TRACE http://api.test/)"

# --- everything else stays pass-through --------------------------------------
# s_client prints its verdict once more per TLS 1.3 session ticket that
# arrives before it quits: whether it says ok matters, not how often.
printf 'Q\n' | s1 timeout 5 openssl s_client -connect allowed.test:443 -servername allowed.test \
	-CAfile "$LAB_CA" -verify_return_error >"$LAB_DIR/pass.out" 2>&1
is "allowed.test (no binding) is spliced: the origin's own certificate" "1 0" \
	"$(grep -q 'Verify return code: 0 (ok)' "$LAB_DIR/pass.out" && echo 1 || echo 0) $(grep -c 'Enclave interception' "$LAB_DIR/pass.out")"

# --- no secret on a public surface -------------------------------------------
is "neither secret in proxyd's log (debug level) nor its event log" "0 0" \
	"$(cat "$LAB_DIR/proxyd.out" "$EVENTS" | grep -c -F -e "$API_KEY" -e "$GIT_TOKEN") $(cat "$LAB_DIR/proxyd.out" "$EVENTS" | grep -c -F "$(printf 'x-access-token:%s' "$GIT_TOKEN" | base64 -w0)")"

# --- an upstream the proxy cannot verify ------------------------------------
stop_proxyd
write_conf ca system
start_proxyd || tap_bail "proxyd did not restart: $(tail -5 "$LAB_DIR/proxyd.out")"
ctl "$(session session_add 0)" >/dev/null
s1 "${ICURL[@]}" https://api.test/v1/whoami >/dev/null 2>"$LAB_DIR/invalid.err"
rc=$?
is "upstream not verifiable (lab CA not trusted): a TLS alert, never a downgrade" "35 1" \
	"$rc $(grep -c -i 'alert access denied\|access denied' "$LAB_DIR/invalid.err")"
sleep 0.3
is "... audited as egress_denied upstream_tls_invalid" "1" \
	"$(ev type=egress_denied host=api.test reason=upstream_tls_invalid)"
is "a restart loads the same CA (the sandbox bundle stays valid)" "1" \
	"$(grep -c "TLS interception for bound hosts, CA $IC/ca.pem" "$LAB_DIR/proxyd.out" | awk '{ print ($1 == 2) }')"

# --- no CA configured: bound TLS hosts are refused ---------------------------
stop_proxyd
write_conf none lab
start_proxyd || tap_bail "proxyd did not restart: $(tail -5 "$LAB_DIR/proxyd.out")"
ctl "$(session session_add 0)" >/dev/null
s1 "${ICURL[@]}" https://api.test/v1/whoami >/dev/null 2>&1
rc=$?
sleep 0.3
is "without a CA, TLS to a bound host is refused: intercept_unavailable" "35 1" \
	"$rc $(ev type=egress_denied host=api.test reason=intercept_unavailable)"
is "... while pass-through TLS still works" "hello from allowed.test" \
	"$(s1 curl -sS --max-time 5 --cacert "$LAB_CA" https://allowed.test/)"
is "session_del, then the source is unknown" '{"ok": true, "req": 2, "v": 1} 000' \
	"$(ctl '{"v":1,"op":"session_del","req":2,"id":"ses_icpt"}') $(s1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' --cacert "$LAB_CA" https://allowed.test/)"

tap_done
