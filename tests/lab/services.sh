#!/bin/bash
# tests/lab/services.sh - TAP: the lab's credentialed services (git.test,
# api.test) work as documented, from inside the lab namespace.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) services.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

lab_preflight
tap_plan 28
lab_trap
lab_up || tap_bail "lab_up failed"
tap_diag "lab prefix $LAB_PREFIX, dir $LAB_DIR"

CURL=(curl -sS --max-time 10 --cacert "$LAB_CA")
TOKEN=$(cat "$LAB_GIT_TOKEN_FILE")
KEY=$(cat "$LAB_API_KEY_FILE")
# git as a workload would run it: no host config, no prompts, the lab CA.
GIT=(env GIT_SSL_CAINFO="$LAB_CA" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
	HOME="$LAB_DIR" GIT_TERMINAL_PROMPT=0 git)

# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; tap_diag "got:  $2" "want: $3"
	fi
}
# code URL CURL-ARGS...: the HTTP status of one request from lab.
code() {
	local url=$1; shift
	lab_exec lab "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@" "$url"
}
# json EXPR: evaluate EXPR (python, `j` is the JSON from stdin).
json() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

# --- 1. DNS, secrets ---------------------------------------------------------
expect "DNS git.test -> $LAB_ADDR_GIT, api.test -> $LAB_ADDR_APITEST" \
	"$(lab_dns_query lab git.test) / $(lab_dns_query lab api.test)" \
	"NOERROR $LAB_ADDR_GIT / NOERROR $LAB_ADDR_APITEST"
expect "token and key: distinct, non-empty, mode 0600 root, services/ 0700" \
	"$([ -n "$TOKEN" ] && [ -n "$KEY" ] && [ "$TOKEN" != "$KEY" ] && echo distinct) $(stat -c '%a %U' "$LAB_GIT_TOKEN_FILE" "$LAB_API_KEY_FILE" "$LAB_DIR/services" | tr '\n' ' ')" \
	"distinct 600 root 600 root 700 root "
leak=""
for p in /proc/[0-9]*; do
	grep -qaF -e "$TOKEN" -e "$KEY" "$p/cmdline" "$p/environ" 2>/dev/null && leak="$leak ${p#/proc/}"
done
expect "neither secret is on any process's command line or environment" "${leak:-none}" none

# --- 2. git.test ---------------------------------------------------------------
out=$(lab_exec lab "${GIT[@]}" clone -q "https://$LAB_GIT_USER:$TOKEN@git.test/repo.git" \
	"$LAB_DIR/clone" 2>&1)
tap_ok $? "git clone with the token works"
[ -n "$out" ] && tap_diag "$out"
expect "the clone's README says '$LAB_GIT_README_LINE'" \
	"$(cat "$LAB_DIR/clone/README" 2>/dev/null)" "$LAB_GIT_README_LINE"
expect "the clone's HEAD is LAB_GIT_COMMIT on main" \
	"$(git -C "$LAB_DIR/clone" rev-parse HEAD 2>&1) $(git -C "$LAB_DIR/clone" symbolic-ref --short HEAD 2>&1)" \
	"$LAB_GIT_COMMIT main"
out=$(lab_exec lab "${GIT[@]}" clone -q "$LAB_GIT_URL" "$LAB_DIR/clone-none" 2>&1)
st=$?
expect "git clone without a token fails (git asks for a username)" \
	"$st $(echo "$out" | grep -c 'could not read Username')" "128 1"
out=$(lab_exec lab "${GIT[@]}" clone -q "https://$LAB_GIT_USER:wrong@git.test/repo.git" \
	"$LAB_DIR/clone-wrong" 2>&1)
st=$?
expect "git clone with a wrong token fails authentication" \
	"$st $(echo "$out" | grep -c 'Authentication failed')" "128 1"
hdr=$(lab_exec lab "${CURL[@]}" -o /dev/null -D - \
	"$LAB_GIT_URL/info/refs?service=git-upload-pack" | tr -d '\r')
expect "no credentials: 401 with WWW-Authenticate: Basic" \
	"$(echo "$hdr" | head -1 | cut -d' ' -f2) $(echo "$hdr" | grep -ci '^WWW-Authenticate: Basic ')" "401 1"
expect "wrong token, wrong user, bearer token: 401 each" \
	"$(code "$LAB_GIT_URL/info/refs?service=git-upload-pack" -u "$LAB_GIT_USER:nope") $(code "$LAB_GIT_URL/info/refs?service=git-upload-pack" -u "someone:$TOKEN") $(code "$LAB_GIT_URL/info/refs?service=git-upload-pack" -H "Authorization: Bearer $TOKEN")" \
	"401 401 401"
expect "the token opens info/refs over HTTPS and plain HTTP" \
	"$(code "$LAB_GIT_URL/info/refs?service=git-upload-pack" -u "$LAB_GIT_USER:$TOKEN") $(code "http://git.test/repo.git/info/refs?service=git-upload-pack" -u "$LAB_GIT_USER:$TOKEN")" \
	"200 200"
# A push with a chunked body (postBuffer smaller than the pack).
(
	cd "$LAB_DIR/clone" && head -c 300000 /dev/urandom >blob.bin && git add blob.bin &&
	"${GIT[@]}" -c user.name=lab -c user.email=lab@lab commit -qm blob
) >/dev/null 2>&1
out=$(cd "$LAB_DIR/clone" && lab_exec lab "${GIT[@]}" -c http.postBuffer=65536 push -q origin main 2>&1)
st=$?
expect "git push with a chunked request body reaches repo.git" \
	"$st $(git --git-dir="$LAB_DIR/git/repo.git" rev-list --count main 2>&1)" "0 2"
[ -n "$out" ] && tap_diag "$out"

# --- 3. api.test -------------------------------------------------------------
A=https://api.test
expect "whoami with the key: 200 {\"ok\":true}" \
	"$(lab_exec lab "${CURL[@]}" -w '%{http_code}' -H "Authorization: Bearer $KEY" $A/v1/whoami | tr '\n' ' ')" \
	'{"ok":true} 200'
hdr=$(lab_exec lab "${CURL[@]}" -o /dev/null -D - $A/v1/whoami | tr -d '\r')
expect "whoami without a key: 401 with WWW-Authenticate: Bearer" \
	"$(echo "$hdr" | head -1 | cut -d' ' -f2) $(echo "$hdr" | grep -ci '^WWW-Authenticate: Bearer ')" "401 1"
expect "whoami with a wrong key, or the key as basic auth: 401" \
	"$(code $A/v1/whoami -H "Authorization: Bearer ${KEY}x") $(code $A/v1/whoami -u "x:$KEY")" "401 401"
expect "whoami over plain HTTP (:80) works the same" \
	"$(code http://api.test/v1/whoami -H "Authorization: Bearer $KEY") $(code http://api.test/v1/whoami)" "200 401"
out=$(lab_exec lab "${CURL[@]}" -X PUT -H 'X-Lab-Probe: probe-value' -H 'Authorization: Bearer echo-me' \
	--data-binary 12345 "$A/echo/x?y=1")
expect "/echo: method, path, a custom header, Authorization, body size" \
	"$(echo "$out" | json 'j["method"], j["path"], j["headers"]["X-Lab-Probe"], j["headers"]["Authorization"], j["body_bytes"], j["authorized"]')" \
	"PUT /echo/x?y=1 probe-value Bearer echo-me 5 False"
out=$(lab_exec lab "${CURL[@]}" -H "Authorization: Bearer $KEY" $A/echo)
expect "/echo with the key reports authorized and echoes it (an honest server)" \
	"$(echo "$out" | json 'j["authorized"]') $(echo "$out" | grep -cF "\"Bearer $KEY\"")" \
	"True 1"
out=$(lab_exec lab "${CURL[@]}" -X TRACE -H 'X-Lab-Probe: traced' -H 'Authorization: Bearer trace-me' $A/ | tr -d '\r')
expect "TRACE answers 200 with the request head, Authorization included" \
	"$(echo "$out" | head -1) $(echo "$out" | grep -cx -e 'X-Lab-Probe: traced' -e 'Authorization: Bearer trace-me')" \
	"TRACE / HTTP/1.1 2"
start=$(date +%s%N)
out=$(lab_exec lab "${CURL[@]}" -N -D "$LAB_DIR/sse.hdr" $A/sse)
ms=$((($(date +%s%N) - start) / 1000000))
expect "/sse: 3 events (text/event-stream, chunked), spread over time (${ms} ms)" \
	"$(echo "$out" | grep -c '^data: ') $(echo "$out" | grep -c '^event: tick') $(tr -d '\r' <"$LAB_DIR/sse.hdr" | grep -ci -e '^Content-Type: text/event-stream' -e '^Transfer-Encoding: chunked') $([ "$ms" -ge 350 ] && echo slow)" \
	"3 3 2 slow"
expect "/sse?close=1&n=2: close-delimited stream of 2 events" \
	"$(lab_exec lab "${CURL[@]}" -N "$A/sse?close=1&n=2&delay=10" | grep -c '^data: ')" 2
head -c 1234567 /dev/urandom >"$LAB_DIR/upload.bin"
expect "/upload counts a chunked body" \
	"$(lab_exec lab "${CURL[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$LAB_DIR/upload.bin" $A/upload)" \
	'{"bytes":1234567}'
out=$(lab_exec lab "${CURL[@]}" -v -H 'Expect: 100-continue' --data-binary @"$LAB_DIR/upload.bin" $A/upload 2>&1)
expect "/upload counts a Content-Length body after 100 Continue" \
	"$(echo "$out" | grep -c '^< HTTP/1.1 100 Continue') $(echo "$out" | grep '^{"')" \
	'1 {"bytes":1234567}'
out=$(lab_exec lab python3 - "$LAB_CA" 2>&1 <<'EOF'
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
hdrs = {}
while True:
    line = f.readline().strip()
    if not line:
        break
    k, v = line.decode().split(":", 1)
    hdrs[k.strip().lower()] = v.strip()
import hashlib
want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                     .encode()).digest()).decode()
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
print(status, hdrs.get("sec-websocket-accept") == want, op1, d1.decode(), op2,
      struct.unpack("!H", d2)[0])
EOF
)
expect "/ws: 101, a valid accept key, a text frame echoed, close answered" \
	"$out" "101 True 1 hello ws 8 1000"

# --- 4. logs ---------------------------------------------------------------------
expect "access.log has api.test and git.test lines" \
	"$(grep -c " $LAB_ADDR_APITEST:443 https api.test \"GET /v1/whoami " "$LAB_ACCESS_LOG" | sed 's/^[1-9][0-9]*$/some/') $(grep -c " $LAB_ADDR_GIT:443 https git.test \"GET /repo.git/info/refs" "$LAB_ACCESS_LOG" | sed 's/^[1-9][0-9]*$/some/')" \
	"some some"
leak=$(grep -rlaF -e "$TOKEN" -e "$KEY" "$LAB_DIR" --exclude-dir=services --exclude-dir=clone 2>/dev/null)
expect "no log or run file outside services/ holds the token or the key" "${leak:-none}" none

# --- 5. teardown ---------------------------------------------------------------
all_pids="$(lab_pids | tr '\n' ' ')$(ip netns pids "$INET_NS" | tr '\n' ' ')"
expect "lab_pids: dnsmasq, nginx, fcgiwrap, python3 (api.test)" \
	"$(for p in $(lab_pids); do cat "/proc/$p/comm"; done | tr '\n' ' ')" \
	"dnsmasq nginx fcgiwrap python3 "
dir=$LAB_DIR etc=$LAB_NETNS_ETC prefix=$LAB_PREFIX
lab_down
lab_down
left=""
for pid in $all_pids; do
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && left="$left pid:$pid($(cat "/proc/$pid/comm" 2>/dev/null))"
done
ip netns list | grep -q "^$prefix" && left="$left netns"
[ -e "$dir" ] && left="$left $dir"
[ -e "$etc" ] && left="$left $etc"
expect "after lab_down (twice): no daemon, fcgiwrap child, netns or file left" \
	"${left:-nothing}" nothing

tap_done
