#!/bin/bash
# tests/lab/bindings.sh - TAP: service bindings end to end (invariant 1).
# A real git clone over HTTPS from inside a sandbox against git.test,
# which wants a token the sandbox never holds; curl and Python against
# api.test, which wants a bearer key; /echo and TRACE cannot reveal the
# injected credential; a session without the binding gets 401; the secrets
# appear on no public surface (the session, its audit, stdout/stderr, the
# daemons' logs) and nowhere inside the sandbox (env, files, process args).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
CTL=$top_build/ctl/enclavectl
export ENCLAVE_BUILDDIR=$top_build
export ENCLAVE_LAB_SCRIPT=$top_src/ctl/enclave-lab

lab_preflight
if [ ! -x "$CTL" ]; then
	echo "1..1"
	echo "not ok 1 - $CTL built (make check builds it)"
	exit 1
fi
tap_plan 23

NAME=b$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-bindings-test.XXXXXX)
cleanup() {
	# A failure's context: the daemons' last words, before the lab goes.
	if [ "$_TAP_FAILED" -gt 0 ] && [ -n "${D:-}" ]; then
		tap_diag "sessiond.log:"; tap_diag "$(tail -25 "$D/sessiond.log" 2>/dev/null)"
		tap_diag "proxyd.log:"; tap_diag "$(tail -15 "$D/proxyd.log" 2>/dev/null)"
	fi
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! "$CTL" lab up --name "$NAME" >"$T/up.out" 2>"$T/up.err"; then
	tap_diag "$(tail -20 "$T/up.err")"
	tap_bail "enclavectl lab up failed"
fi
S=$(sed -n 's/^ENCLAVE_SOCKET=//p' "$T/up.out")
D=$(sed -n 's/^ENCLAVE_LAB_DIR=//p' "$T/up.out")
GIT_TOKEN=$(cat "$D/services/git-token")
API_KEY=$(cat "$D/services/api-key")
DEMO=$(cat "$D/secrets/demo-token")

# run NAME LANG BINDINGS CODE: POST with wait; the session in $T/NAME.json,
# its audit in $T/NAME.audit.
run() {
	python3 -c 'import json,sys
print(json.dumps({"language":sys.argv[1],"code":sys.argv[3],
  "bindings":json.loads(sys.argv[2]),"limits":{"timeout_ms":60000},"wait":True}))' \
		"$2" "$3" "$4" >"$T/req"
	api POST /v1/sessions "$T/req" >"$T/$1.status"
	cp "$T/body" "$T/$1.json"
	[ "$(cat "$T/$1.status")" = 201 ] ||
		tap_diag "$1: POST answered $(cat "$T/$1.status"): $(head -c 300 "$T/$1.json")"
	api GET "/v1/sessions/$(js 'd["id"]' "$T/$1.json")/audit" >/dev/null
	cp "$T/body" "$T/$1.audit"
}
field() { js "$2" "$T/$1.json"; }

# --- git clone with the github binding ------------------------------------
run clone sh '["github"]' 'set -e
cd /workspace
git clone -q https://git.test/repo.git 2>&1
cat repo/README
echo "env:"; env | sort
echo "cfg:"; git -C repo config --list 2>/dev/null
echo "args:"; for p in /proc/[0-9]*/cmdline; do tr "\0" " " <"$p"; echo; done 2>/dev/null
grep -rl -- "ghs_" /workspace /tmp /opt/enclave /etc 2>/dev/null | head -3 || true'
is "git clone through the binding: the repo's README" "201 succeeded 1" \
	"$(cat "$T/clone.status") $(field clone 'd["phase"]') $(field clone 'int("'"$LAB_GIT_README_LINE"'" in d["stdout"])')"
is "clone: audited as secret_injected for binding github on git.test" "github:git.test" \
	"$(js '",".join(sorted({"%s:%s" % (e["data"].get("binding"), e["data"]["host"]) for e in d["events"] if e["type"] == "secret_injected"}))' "$T/clone.audit")"
is "clone: the token is nowhere in the sandbox (env, git config, args, files)" 0 \
	"$(grep -c -F -- "$GIT_TOKEN" "$T/clone.json")"

run noclone sh '[]' 'cd /workspace && git clone -q https://git.test/repo.git 2>&1; echo "rc=$?"'
is "git clone without the binding: refused by the proxy (not allowlisted)" "1 0" \
	"$(field noclone 'int("rc=128" in d["stdout"])') $(grep -c -F -- "$GIT_TOKEN" "$T/noclone.json")"

python3 -c 'import json
print(json.dumps({"language":"sh","code":"cd /workspace && GIT_SSL_NO_VERIFY=1 GIT_TERMINAL_PROMPT=0 git clone -q https://git.test/repo.git 2>&1; echo rc=$?",
  "egress":{"allow":["git.test"]},"wait":True}))' >"$T/req"
api POST /v1/sessions "$T/req" >/dev/null
# Not intercepted, so the sandbox meets git.test's own certificate, from
# the lab's CA, which stands in for a public root the sandbox would trust.
is "git.test allowed but not bound: the server itself refuses (401), no token was added" "1 1" \
	"$(js 'int("rc=128" in d["stdout"])') $(grep -c 'info/refs?service=git-upload-pack HTTP/1.1" 401' "$D/access.log" | sed 's/^[1-9][0-9]*$/1/')"

# --- api.test with the api binding -----------------------------------------
run curl sh '["api"]' 'echo "whoami: $(curl -s -w " %{http_code}" https://api.test/v1/whoami | tr -d "\n")"
echo "echo: $(curl -s -H "Authorization: Bearer stolen-guess" -H "X-Api-Key: mine" https://api.test/echo | tr -d "\n")"
echo "trace: $(curl -s -o /dev/null -X TRACE -w "%{http_code}" https://api.test/)"'
# line PREFIX FILE-NAME: the rest of the stdout line starting "PREFIX: ".
line() { field "$2" 'next((l.split(": ", 1)[1] for l in d["stdout"].splitlines() if l.startswith("'"$1"': ")), "")'; }
is "curl: whoami succeeds with the injected key" '{"ok":true} 200' "$(line whoami curl)"
is "curl: /echo reveals neither the injected key nor the client's own (stripped) header" "0 0 0" \
	"$(line echo curl | grep -c -F -- "$API_KEY") $(line echo curl | grep -c -- stolen-guess) $(line echo curl | grep -c -- '"mine"')"
is "curl: TRACE to a bound host is refused" 405 "$(line trace curl)"
is "curl: the key appears in no part of the session" 0 "$(grep -c -F -- "$API_KEY" "$T/curl.json")"

run py python '["api"]' 'import enclave, json, http.client, urllib.request
r = urllib.request.urlopen("https://api.test/v1/whoami", timeout=20)
c = http.client.HTTPSConnection("api.test", timeout=20)
c.request("GET", "/echo", headers={"Host": "api.test"})
echo = c.getresponse().read().decode()
c2 = http.client.HTTPSConnection("api.test", timeout=20)
c2.request("GET", "/echo", headers={"Host": "other.test"})
fronted = c2.getresponse().status
enclave.result({"whoami": r.status, "echo_has_auth": "Bearer" in echo, "fronted": fronted})'
is "python: urllib and http.client through the binding; Host != SNI is 421" \
	'{"echo_has_auth": false, "fronted": 421, "whoami": 200}' \
	"$(field py 'json.dumps(d["result"], sort_keys=True)')"

run noapi sh '[]' 'curl -s -w " %{http_code}" https://api.test/v1/whoami; echo'
is "without the binding: api.test is not even allowed" "egress_denied" \
	"$(js '[e["type"] for e in d["events"] if e["type"].startswith("egress") and e["data"]["host"] == "api.test"][0]' "$T/noapi.audit")"

# --- streaming through the interception ------------------------------------
run stream sh '["api"]' 'echo "sse: $(curl -sN https://api.test/sse | grep -c "^data:")"
echo "chunked: $(head -c 300000 /dev/zero | curl -s -T - -H "Transfer-Encoding: chunked" https://api.test/upload | tr -d "\n")"
echo "expect: $(head -c 100000 /dev/zero | curl -s -H "Expect: 100-continue" --data-binary @- https://api.test/upload | tr -d "\n")"'
is "SSE streams through the interception" 3 "$(line sse stream)"
is "chunked upload through the interception" '{"bytes":300000}' "$(line chunked stream)"
is "Expect: 100-continue through the interception" '{"bytes":100000}' "$(line expect stream)"
run ws python '["api"]' 'import base64, os, socket, ssl
ctx = ssl.create_default_context()
s = ctx.wrap_socket(socket.create_connection(("api.test", 443), timeout=20), server_hostname="api.test")
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
msg = b"hello-ws"
mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
f = s.recv(2 + len(msg))
print(head.split(b"\r\n")[0].decode(), f[2:].decode())'
is "a WebSocket upgrade switches to a two-way relay" "HTTP/1.1 101 Switching Protocols hello-ws" \
	"$(field ws 'd["stdout"].strip()')"

# --- the same binding on every backend this appliance can run -------------
api GET /v1/backends >/dev/null
mapfile -t BACKENDS < <(js '"\n".join(b["name"] for b in d["backends"] if b["available"])' | sed '/^$/d')
good=""
for b in "${BACKENDS[@]}"; do
	python3 -c 'import json,sys
print(json.dumps({"language":"sh","backend":sys.argv[1],"bindings":["api"],
  "code":"curl -s -o /dev/null -w %{http_code} https://api.test/v1/whoami","limits":{"timeout_ms":60000},"wait":True}))' "$b" >"$T/req"
	api POST /v1/sessions "$T/req" >/dev/null
	if [ "$(js 'd["stdout"]')" = 200 ] && ! grep -q -F -- "$API_KEY" "$T/body"; then
		good="$good $b"
	else
		tap_diag "$b: $(head -c 400 "$T/body")"
	fi
done
is "every available backend (at least namespace) trusts the interception and gets the credential injected:${good}" \
	"${BACKENDS[*]:-none}" "$(echo $good)"

# --- no secret anywhere public -----------------------------------------------
leak=0
for f in "$T"/*.json "$T"/*.audit "$D/audit.log" "$D/sessiond.log" "$D/proxyd.log" \
	"$D/proxyd-events.jsonl"; do
	[ -f "$f" ] || continue
	for sec in "$GIT_TOKEN" "$API_KEY" "$DEMO"; do
		if grep -q -F -- "$sec" "$f"; then leak=1; tap_diag "a secret in $f"; fi
	done
done
is "no secret in any session, audit, or daemon log" 0 "$leak"
api GET /v1/rules >/dev/null
is "no secret in the rules dump" 0 "$(grep -c -F -e "$GIT_TOKEN" -e "$API_KEY" -e "$DEMO" "$T/body")"
is "the sandbox trusts the interception CA only through its bundle" "1" \
	"$(field clone 'int("SSL_CERT_FILE=/opt/enclave/ca-bundle.pem" in d["stdout"])')"
is "the interception CA key is readable by proxyd's user only" "600" \
	"$(stat -c %a "$D/intercept-ca.key" 2>/dev/null)"

# --- TLS to a non-bound host stays pass-through ------------------------------
run plain sh '["api"]' 'echo | openssl s_client -connect allowed.test:443 -servername allowed.test 2>/dev/null | grep -m1 "issuer="'
is "TLS to an unbound host is not intercepted (the server's own certificate)" 0 \
	"$(field plain 'int("Enclave" in d["stdout"])')"
is "sessiond is still healthy after it all" 200 "$(api GET /v1/health)"
# With --enable-asan/--enable-ubsan the daemons' reports land in their logs.
is "no sanitizer report in sessiond's or proxyd's log" "" \
	"$(grep -h -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$D/sessiond.log" "$D/proxyd.log" | head -5)"

tap_done
