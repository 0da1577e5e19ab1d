# shellcheck shell=bash
# tests/lab/lib.sh - build and tear down an Enclave test lab.
#
# Source this from a bash test script:
#
#     . "$(dirname "$0")/lib.sh"
#     lab_preflight               # SKIP when not root, FAIL when tools missing
#     tap_plan 3
#     lab_trap                    # trap lab_down EXIT (and INT/TERM/HUP)
#     lab_up || tap_bail "lab_up failed"
#     ...
#
# THE LAB RULE: no packet leaves the machine. Everything lives in network
# namespaces created here, every address is inside 198.18.0.0/15, no lab
# namespace is linked to the root namespace, and no lab namespace has a
# default route or any route outside 198.18.0.0/15. See README.md.
#
# The library is `set -u` safe and does not change the caller's shell
# options. Functions return non-zero on failure; lab_down always returns 0.

# ---------------------------------------------------------------------------
# Address plan (all inside 198.18.0.0/15, RFC 2544 benchmarking space)
# ---------------------------------------------------------------------------
LAB_NET=198.18.0.0/15            # everything the lab may ever use
LAB_LINK_NET=198.18.0.0/24       # point-to-point links
LAB_SRV_NET=198.18.1.0/24        # inet's servers
LAB_SESSION_NET=198.19.0.0/16    # session /31s hanging off lab (later)
LAB_LINK_ADDR=198.18.0.1         # lab end of the lab<->inet veth (/30)
INET_LINK_ADDR=198.18.0.2        # inet end of the lab<->inet veth (/30)
LAB_LINK_PLEN=30
LAB_DNS=198.18.0.2               # dnsmasq in inet listens here only
LAB_ADDR_ALLOWED=198.18.1.10     # allowed.test
LAB_ADDR_OTHER=198.18.1.11       # other.test
LAB_ADDR_API=198.18.1.12         # api.allowed.test
LAB_ADDR_EXFIL=198.18.1.66       # exfil.attacker.example
# Answers only: dnsmasq hands these out, nothing ever connects to them.
LAB_ANSWER_REBIND=169.254.169.254   # rebind.test
LAB_ANSWER_PRIVATE=10.0.0.5         # private.test
# name=address for every server nginx runs (HTTP :80 and HTTPS :443)
LAB_SERVERS="allowed.test=198.18.1.10 api.allowed.test=198.18.1.12 other.test=198.18.1.11 exfil.attacker.example=198.18.1.66"
# The services that need credentials (service bindings, issue 8):
LAB_ADDR_GIT=198.18.1.13         # git.test: git smart HTTP, basic auth
LAB_ADDR_APITEST=198.18.1.14     # api.test: JSON API, bearer key
LAB_SERVICES="git.test=198.18.1.13 api.test=198.18.1.14"
LAB_GIT_USER=x-access-token      # git.test's only user; the password is the token
LAB_GIT_URL=https://git.test/repo.git
LAB_GIT_README_LINE="enclave lab repo"   # the README of repo.git, one line

LAB_WAIT_TIMEOUT=${LAB_WAIT_TIMEOUT:-10}   # seconds, for lab_wait_port
LAB_GIT_HTTP_BACKEND=${LAB_GIT_HTTP_BACKEND:-$(git --exec-path 2>/dev/null || echo /usr/lib/git-core)/git-http-backend}
LAB_TOOLS="ip dnsmasq nginx openssl curl python3 getent timeout mktemp stat od git fcgiwrap"

export LAB_NET LAB_LINK_NET LAB_SRV_NET LAB_SESSION_NET LAB_LINK_ADDR \
	INET_LINK_ADDR LAB_LINK_PLEN LAB_DNS LAB_ADDR_ALLOWED LAB_ADDR_OTHER \
	LAB_ADDR_API LAB_ADDR_EXFIL LAB_ANSWER_REBIND LAB_ANSWER_PRIVATE \
	LAB_SERVERS LAB_WAIT_TIMEOUT LAB_ADDR_GIT LAB_ADDR_APITEST LAB_SERVICES \
	LAB_GIT_USER LAB_GIT_URL LAB_GIT_README_LINE

# dnsmasq and nginx live in /usr/sbin; make sure we find them.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac

# ---------------------------------------------------------------------------
# TAP helpers
# ---------------------------------------------------------------------------
_TAP_N=0
_TAP_FAILED=0
_TAP_PLANNED=""

tap_plan() { _TAP_PLANNED=$1; echo "1..$1"; }

# tap_diag MSG...: print MSG as TAP diagnostics, one "# " per line.
tap_diag() {
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

ok() { _TAP_N=$((_TAP_N + 1)); echo "ok $_TAP_N - $*"; }
not_ok() {
	_TAP_N=$((_TAP_N + 1)); _TAP_FAILED=$((_TAP_FAILED + 1))
	echo "not ok $_TAP_N - $*"
}

# tap_ok STATUS DESC: ok when STATUS is 0 (e.g. `tap_ok $? "desc"`).
tap_ok() {
	local st=$1; shift
	if [ "$st" -eq 0 ]; then ok "$@"; else not_ok "$@"; fi
}

# tap_check DESC CMD...: run CMD, ok when it succeeds; its output becomes
# diagnostics on failure.
tap_check() {
	local desc=$1 out st; shift
	out=$("$@" 2>&1); st=$?
	tap_ok "$st" "$desc"
	if [ "$st" -ne 0 ] && [ -n "$out" ]; then tap_diag "$out"; fi
	return "$st"
}

# is DESC WANT GOT: ok when GOT is exactly WANT; both shown otherwise.
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; tap_diag "want: $2"; tap_diag "got:  $3"
	fi
}

tap_skip() { _TAP_N=$((_TAP_N + 1)); echo "ok $_TAP_N - $1 # SKIP ${2:-}"; }
tap_skip_all() { echo "1..0 # SKIP $*"; }
tap_bail() { echo "Bail out! $*"; exit 1; }

# tap_done: exit status for the end of a test script (non-zero when a test
# failed or the plan was not met).
tap_done() {
	if [ -n "$_TAP_PLANNED" ] && [ "$_TAP_N" -ne "$_TAP_PLANNED" ]; then
		tap_diag "planned $_TAP_PLANNED tests but ran $_TAP_N"
		return 1
	fi
	[ "$_TAP_FAILED" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Appliance tests: a lab from `enclavectl lab up`, driven over sessiond's
# API. Set S (the API socket) and T (a scratch directory) first; a test may
# set LAB_BACKEND to send every session to one backend.
# ---------------------------------------------------------------------------

# appliance_init [PROGRAM...]: a test's set-up before tap_plan. Sets
# top_build and top_src (automake's abs_top_* or this source tree), CTL and
# LABSCRIPT, exports what `enclavectl lab` needs to find the build, runs
# lab_preflight, and ends the test with one failing point when CTL or a
# PROGRAM (a path under the build) is not built.
appliance_init() {
	local self f
	self=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	top_build=${abs_top_builddir:-$self}
	top_src=${abs_top_srcdir:-$self}
	CTL=$top_build/ctl/enclavectl
	LABSCRIPT=$top_src/ctl/enclave-lab
	export ENCLAVE_BUILDDIR=$top_build ENCLAVE_LAB_SCRIPT=$LABSCRIPT
	lab_preflight
	for f in "$CTL" "${@/#/$top_build/}"; do
		if [ ! -x "$f" ]; then
			echo "1..1"
			echo "not ok 1 - $f built (make check builds it)"
			exit 1
		fi
	done
}
# appliance_up NAME [OPTION...]: `enclavectl lab up --name NAME OPTION...`
# with its output in $T/up.out (set T first); sets S (the API socket) and D
# (the lab directory), or bails out with lab up's last words.
appliance_up() {
	local name=$1
	shift
	if ! "$CTL" lab up --name "$name" "$@" >"$T/up.out" 2>"$T/up.err"; then
		tap_diag "$(tail -20 "$T/up.err")"
		tap_bail "enclavectl lab up failed"
	fi
	S=$(appliance_val ENCLAVE_SOCKET)
	D=$(appliance_val ENCLAVE_LAB_DIR)
}
# appliance_val KEY: the value of lab up's KEY=value line.
appliance_val() { sed -n "s/^$1=//p" "$T/up.out"; }
# proc_fds PID [pipes|other]: how many fds PID has open; only its pipes, or
# all but its pipes. proxyd keeps a bounded pool of empty pipes per event
# loop for its splice relays (PROXYD_PIPE_FDS_MAX fds in all), so its pipe
# count follows recent traffic while any other fd it leaks still shows.
PROXYD_PIPE_FDS_MAX=1024
proc_fds() {
	case ${2:-} in
	pipes) find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'pipe:*' 2>/dev/null | wc -l ;;
	other) find "/proc/$1/fd" -mindepth 1 -maxdepth 1 ! -lname 'pipe:*' 2>/dev/null | wc -l ;;
	*) find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l ;;
	esac
}

# api [--uid N] METHOD PATH [BODYFILE]: the status on stdout, the body in
# $T/body. With --uid the request comes from that uid (tenancy); its curl
# cannot write in $T, so the body comes back through stdout.
api() {
	local as=() out
	if [ "$1" = --uid ]; then
		as=(setpriv --reuid "$2" --regid "$2" --clear-groups); shift 2
	fi
	local m=$1 p=$2 b=${3:-}
	out=$("${as[@]}" curl -s -w '\n%{http_code}' --max-time 120 \
		--unix-socket "$S" -X "$m" ${b:+--data-binary "@$b"} "http://sessiond$p")
	printf '%s' "${out%$'\n'*}" >"$T/body"
	echo "${out##*$'\n'}"
}
# js EXPR [FILE]: a Python expression over d, the JSON in FILE ($T/body).
js() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' \
		"$1" "${2:-$T/body}"
}
# body LANG CODE [LIMITS] [EXTRA]: a session request in ${REQ:-$T/req},
# allowing allowed.test and waiting for the end; LIMITS and EXTRA are JSON
# objects.
body() {
	python3 -c 'import json,sys
b={"language":sys.argv[1],"code":sys.argv[2],"egress":{"allow":["allowed.test"]},"wait":True}
if sys.argv[5]: b["backend"]=sys.argv[5]
if sys.argv[3]: b["limits"]=json.loads(sys.argv[3])
if sys.argv[4]: b.update(json.loads(sys.argv[4]))
print(json.dumps(b))' "$1" "$2" "${3:-}" "${4:-}" "${LAB_BACKEND:-}" >"${REQ:-$T/req}"
}
# run LANG CODE [LIMITS] [EXTRA]: POST it; status in $T/status, the session
# in $T/last.
run() { body "$@"; api POST /v1/sessions "$T/req" >"$T/status"; cp "$T/body" "$T/last"; }
# types ID: the session's audit event types, comma-separated.
types() { api GET "/v1/sessions/$1/audit" >/dev/null; js '",".join(e["type"] for e in d["events"])'; }

# lab_preflight: not root -> "1..0 # SKIP" and exit 0; root but a tool
# missing -> a failing TAP test and exit 1. Call before tap_plan.
lab_preflight() {
	local uid missing="" t
	uid=$(id -u)
	if [ "$uid" -ne 0 ]; then
		tap_skip_all "lab tests need root (uid $uid)"
		exit 0
	fi
	for t in $LAB_TOOLS; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -x "$LAB_GIT_HTTP_BACKEND" ] || missing="$missing git-http-backend"
	if [ -n "$missing" ]; then
		echo "1..1"
		echo "not ok 1 - lab tools present (missing:$missing; run contrib/install-deps)"
		echo "# missing tools:$missing -- run contrib/install-deps (as root)" >&2
		exit 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------
_lab_err() { echo "lab: $*" >&2; }

# _lab_run CMD...: run, report failures with the command line.
_lab_run() {
	local out
	if ! out=$("$@" 2>&1); then
		_lab_err "failed: $* :: $out"
		return 1
	fi
	return 0
}

# _lab_ns_ino NS: inode of the namespace, or empty.
_lab_ns_ino() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

# _lab_alive PID: process exists and is not a zombie.
_lab_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[1] }' \
		"/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# _lab_ours PID: PID is inside one of our namespaces or mentions LAB_DIR on
# its command line (so a recycled pid is never killed).
_lab_ours() {
	local pid=$1 ino ns
	ino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
	for ns in "${LAB_NS:-}" "${INET_NS:-}"; do
		[ -n "$ns" ] || continue
		[ "$ino" = "$(_lab_ns_ino "$ns")" ] && return 0
	done
	[ -n "${LAB_DIR:-}" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qF -- "$LAB_DIR"
}

# _lab_pidfile_pid FILE: print the pid in FILE if it is a number.
_lab_pidfile_pid() {
	local pid
	[ -r "$1" ] || return 1
	read -r pid <"$1" 2>/dev/null || return 1
	case "$pid" in '' | *[!0-9]*) return 1 ;; esac
	echo "$pid"
}

# _lab_wait_dead TRIES PID...: poll every 50 ms, at most TRIES times, until
# no PID is alive; returns 1 if some still are.
_lab_wait_dead() {
	local tries=$1 pid _ left=1
	shift
	for _ in $(seq 1 "$tries"); do
		left=0
		for pid in "$@"; do _lab_alive "$pid" && left=1; done
		[ "$left" -eq 0 ] && return 0
		sleep 0.05
	done
	return "$left"
}

# _lab_kill_pids PID...: TERM, wait up to ~2 s, then KILL; bounded.
_lab_kill_pids() {
	local pid
	[ $# -gt 0 ] || return 0
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	if ! _lab_wait_dead 40 "$@"; then
		for pid in "$@"; do _lab_alive "$pid" && { kill -KILL "$pid" 2>/dev/null || true; }; done
		_lab_wait_dead 20 "$@" || true
	fi
	# Reap the ones that are our children (all dead now, so wait is quick).
	for pid in "$@"; do
		if _lab_alive "$pid"; then
			_lab_err "pid $pid still alive after KILL"
		else
			wait "$pid" 2>/dev/null || true
		fi
	done
	return 0
}

# _lab_spawn NAME COMM PIDFILE CMD...: start CMD (which must stay in the
# foreground) inside inet as our child, output to LAB_DIR/NAME.out, then
# check that PIDFILE appears and names that very child, that it is COMM and
# that it lives in inet. Being our child, it is reaped as soon as it dies.
_lab_spawn() {
	local name=$1 comm=$2 file=$3 pid got="" _; shift 3
	# Plain `ip netns exec` (not the lab_exec function) so that $! is the
	# daemon itself: ip execs it. disown: no job-status noise on stderr;
	# bash still reaps it when it dies.
	ip netns exec "$INET_NS" "$@" >"$LAB_DIR/$name.out" 2>&1 </dev/null &
	pid=$!
	disown "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		got=$(_lab_pidfile_pid "$file") && break
		_lab_alive "$pid" || break
		sleep 0.05
	done
	if ! _lab_alive "$pid"; then
		_lab_err "$name exited: $(cat "$LAB_DIR/$name.out")"; return 1
	fi
	if [ "$got" != "$pid" ]; then
		_lab_err "$name: pid file $file says '$got', started pid $pid"
		kill -KILL "$pid" 2>/dev/null; return 1
	fi
	_lab_spawn_check "$name" "$comm" "$pid"
}

# _lab_spawn_sock NAME COMM PIDFILE SOCKET CMD...: like _lab_spawn, for a
# daemon that writes no pid file (fcgiwrap): we write $! to PIDFILE
# ourselves, then wait until it has created the unix socket SOCKET.
_lab_spawn_sock() {
	local name=$1 comm=$2 file=$3 sock=$4 pid _; shift 4
	ip netns exec "$INET_NS" "$@" >"$LAB_DIR/$name.out" 2>&1 </dev/null &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$file"
	for _ in $(seq 1 100); do
		[ -S "$sock" ] && break
		_lab_alive "$pid" || break
		sleep 0.05
	done
	if ! _lab_alive "$pid"; then
		_lab_err "$name exited: $(cat "$LAB_DIR/$name.out")"; return 1
	fi
	if [ ! -S "$sock" ]; then
		_lab_err "$name: no socket $sock after 5 s"; return 1
	fi
	_lab_spawn_check "$name" "$comm" "$pid"
}

# _lab_spawn_check NAME COMM PID: PID runs COMM inside inet.
_lab_spawn_check() {
	local name=$1 comm=$2 pid=$3
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
		_lab_err "$name: pid $pid is not $comm"; return 1
	fi
	if [ "$(stat -L -c %i "/proc/$pid/ns/net")" != "$(_lab_ns_ino "$INET_NS")" ]; then
		_lab_err "$comm pid $pid is not in netns $INET_NS"; return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

# lab_exec NS CMD...: run CMD inside netns NS ("lab"/"inet" are shorthands).
lab_exec() {
	local ns=$1; shift
	case "$ns" in
	lab) ns=$LAB_NS ;;
	inet) ns=$INET_NS ;;
	esac
	ip netns exec "$ns" "$@"
}

# lab_wait_port NS ADDR PORT [TIMEOUT]: wait until a TCP connect to
# ADDR:PORT from inside NS succeeds; bounded by TIMEOUT (LAB_WAIT_TIMEOUT).
lab_wait_port() {
	local ns=$1 addr=$2 port=$3 t=${4:-$LAB_WAIT_TIMEOUT} i n
	n=$((t * 10))
	for i in $(seq 1 "$n"); do
		# shellcheck disable=SC2016 # $0/$1 expand in the inner bash
		if lab_exec "$ns" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' \
			"$addr" "$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	_lab_err "timeout waiting for $addr:$port in $ns (try $i)"
	return 1
}

# lab_dns_query NS NAME [SERVER]: one real DNS A query over UDP from inside
# NS (default server LAB_DNS). Prints "RCODE addr..." e.g.
# "NOERROR 198.18.1.10" or "NXDOMAIN". Returns 1 on timeout.
lab_dns_query() {
	lab_exec "$1" python3 - "$2" "${3:-$LAB_DNS}" <<'EOF'
import os, socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
qid = struct.unpack("!H", os.urandom(2))[0]
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
resp = None
for _ in range(3):
    s.sendto(q, (server, 53))
    try:
        while True:
            data, _src = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                resp = data
                break
    except socket.timeout:
        continue
    break
if resp is None:
    print("TIMEOUT")
    sys.exit(1)
flags, qd, an = struct.unpack("!HHH", resp[2:8])
rcodes = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}
def skip_name(buf, off):
    while True:
        n = buf[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1
        if n == 0:
            return off
        off += n
off = 12
for _ in range(qd):
    off = skip_name(resp, off) + 4
addrs = []
for _ in range(an):
    off = skip_name(resp, off)
    rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
    off += 10
    if rtype == 1 and rdlen == 4:
        addrs.append(socket.inet_ntoa(resp[off:off + 4]))
    off += rdlen
print(" ".join([rcodes.get(flags & 0xF, str(flags & 0xF))] + addrs))
EOF
}

# _lab_certs: per-run CA and one leaf cert (SANs for every server and
# service name).
_lab_certs() {
	local d=$LAB_DIR/tls sans="" kv
	for kv in $LAB_SERVERS $LAB_SERVICES; do sans="$sans${sans:+,}DNS:${kv%%=*}"; done
	(
		umask 077
		mkdir -p "$d" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
			-subj "/CN=Enclave lab CA $LAB_PREFIX" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$d/leaf.key" -out "$d/leaf.csr" \
			-subj "/CN=allowed.test" &&
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=$sans" >"$d/leaf.ext" &&
		openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.crt" \
			-CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/leaf.ext" -out "$d/leaf.crt" &&
		chmod 0644 "$d/ca.crt" "$d/leaf.crt"
	) >"$LAB_DIR/openssl.log" 2>&1 || {
		_lab_err "openssl failed: $(cat "$LAB_DIR/openssl.log")"
		return 1
	}
	LAB_CA=$d/ca.crt
	export LAB_CA
}

_lab_dnsmasq() {
	local args=() kv
	for kv in $LAB_SERVERS $LAB_SERVICES; do
		args+=("--host-record=${kv%%=*},${kv#*=}")
	done
	args+=("--host-record=rebind.test,$LAB_ANSWER_REBIND")
	args+=("--host-record=private.test,$LAB_ANSWER_PRIVATE")
	: >"$LAB_DIR/dnsmasq.log"
	# -C /dev/null: ignore /etc/dnsmasq.conf. --local=/#/: every name is
	# local, so anything without a host-record is NXDOMAIN and nothing is
	# ever forwarded. Runs as root so it can always write its log in the
	# 0700 LAB_DIR.
	_lab_spawn dnsmasq dnsmasq "$LAB_DIR/dnsmasq.pid" dnsmasq -k -C /dev/null \
		--no-resolv --no-hosts --no-poll --local=/#/ \
		--listen-address="$LAB_DNS" --bind-interfaces --port=53 \
		--user=root --group=root \
		--pid-file="$LAB_DIR/dnsmasq.pid" \
		--log-queries --log-facility="$LAB_DIR/dnsmasq.log" \
		--cache-size=0 "${args[@]}"
}

_lab_nginx_conf() {
	local kv name addr d=$LAB_DIR
	cat <<EOF
# generated by tests/lab/lib.sh for lab $LAB_PREFIX
daemon off;  # stays our child; lib.sh tracks it by \$! and pid file
master_process on;
worker_processes 1;
user root root;
pid $d/nginx.pid;
error_log $d/nginx-error.log info;
events { worker_connections 256; }
http {
    default_type text/plain;
    client_body_temp_path $d/nginx-tmp/body;
    proxy_temp_path $d/nginx-tmp/proxy;
    fastcgi_temp_path $d/nginx-tmp/fastcgi;
    uwsgi_temp_path $d/nginx-tmp/uwsgi;
    scgi_temp_path $d/nginx-tmp/scgi;
    log_format lab '\$time_iso8601 \$remote_addr \$server_addr:\$server_port '
                   '\$scheme \$host "\$request" \$status \$body_bytes_sent '
                   '"\$http_user_agent"';
    access_log $d/access.log lab;
    ssl_certificate $d/tls/leaf.crt;
    ssl_certificate_key $d/tls/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
EOF
	for kv in $LAB_SERVERS; do
		name=${kv%%=*} addr=${kv#*=}
		cat <<EOF
    server {
        listen $addr:80 default_server;
        listen $addr:443 ssl default_server;
        server_name $name;
        location = / { return 200 "hello from $name\n"; }
        location = /headers { return 200 "\$http_authorization\n"; }
        location = /host { return 200 "\$host\n"; }
        location / { return 404 "not found on $name\n"; }
    }
EOF
	done
	# git.test: git smart HTTP (git http-backend through our fcgiwrap),
	# every URL behind basic auth. nginx buffers request bodies (chunked
	# ones too) and hands fcgiwrap a CONTENT_LENGTH.
	cat <<EOF
    server {
        listen $LAB_ADDR_GIT:80 default_server;
        listen $LAB_ADDR_GIT:443 ssl default_server;
        server_name git.test;
        client_max_body_size 256m;
        location / {
            auth_basic "git.test";
            auth_basic_user_file $d/services/git.htpasswd;
            fastcgi_pass unix:$d/fcgiwrap.sock;
            fastcgi_param SCRIPT_FILENAME $LAB_GIT_HTTP_BACKEND;
            fastcgi_param GIT_PROJECT_ROOT $d/git;
            fastcgi_param GIT_HTTP_EXPORT_ALL 1;
            fastcgi_param GIT_CONFIG_NOSYSTEM 1;
            fastcgi_param GIT_CONFIG_GLOBAL /dev/null;
            fastcgi_param HOME $d/git;
            fastcgi_param PATH /usr/bin:/bin;
            fastcgi_param PATH_INFO \$uri;
            fastcgi_param QUERY_STRING \$query_string;
            fastcgi_param REQUEST_METHOD \$request_method;
            fastcgi_param CONTENT_TYPE \$content_type;
            fastcgi_param CONTENT_LENGTH \$content_length;
            fastcgi_param REQUEST_URI \$request_uri;
            fastcgi_param REMOTE_USER \$remote_user;
            fastcgi_param REMOTE_ADDR \$remote_addr;
            fastcgi_param SERVER_NAME \$host;
            fastcgi_param SERVER_PORT \$server_port;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
        }
    }
EOF
	echo "}"
}

_lab_nginx() {
	mkdir -p "$LAB_DIR/nginx-tmp" || return 1
	_lab_nginx_conf >"$LAB_DIR/nginx.conf" || return 1
	_lab_spawn nginx nginx "$LAB_DIR/nginx.pid" \
		nginx -p "$LAB_DIR" -c "$LAB_DIR/nginx.conf" -e "$LAB_DIR/nginx-error.log"
}

# _lab_secret FILE PREFIX: a fresh random secret (PREFIX + 40 hex digits),
# no newline, mode 0600.
_lab_secret() {
	(
		umask 077
		printf '%s%s' "$2" "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$1"
	) && chmod 0600 "$1"
}

# _lab_services_prepare: secrets, htpasswd and the git repository of the
# credentialed services (git.test, api.test). Everything secret lives in
# LAB_DIR/services (0700, root's; enclave-lab opens LAB_DIR to 0711).
_lab_services_prepare() {
	local sd=$LAB_DIR/services r=$LAB_DIR/git/repo.git
	LAB_GIT_TOKEN_FILE=$sd/git-token
	LAB_API_KEY_FILE=$sd/api-key
	if [ ! -x "$LAB_GIT_HTTP_BACKEND" ]; then
		_lab_err "no git http-backend at $LAB_GIT_HTTP_BACKEND"; return 1
	fi
	mkdir -m 0700 "$sd" &&
	_lab_secret "$LAB_GIT_TOKEN_FILE" ghs_ &&
	_lab_secret "$LAB_API_KEY_FILE" lak_ || return 1
	# nginx's basic auth file: the token as an apr1 hash, read from stdin
	# (never on a command line).
	(
		umask 077
		printf '%s:%s\n' "$LAB_GIT_USER" \
			"$(openssl passwd -apr1 -stdin <"$LAB_GIT_TOKEN_FILE")" >"$sd/git.htpasswd"
	) || { _lab_err "git.htpasswd failed"; return 1; }
	# repo.git: one commit (fixed author, dates and message, so its id is
	# the same in every lab) whose tree is a README with one known line;
	# branch main; pushes allowed (they need the token like everything).
	LAB_GIT_COMMIT=$(
		export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$LAB_DIR/git \
			GIT_AUTHOR_NAME="Enclave lab" GIT_AUTHOR_EMAIL=lab@git.test \
			GIT_COMMITTER_NAME="Enclave lab" GIT_COMMITTER_EMAIL=lab@git.test \
			GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
		set -e
		git init -q --bare --initial-branch=main "$r"
		git --git-dir="$r" config http.receivepack true
		blob=$(printf '%s\n' "$LAB_GIT_README_LINE" | git --git-dir="$r" hash-object -w --stdin)
		tree=$(printf '100644 blob %s\tREADME\n' "$blob" | git --git-dir="$r" mktree)
		commit=$(git --git-dir="$r" commit-tree -m "$LAB_GIT_README_LINE" "$tree")
		git --git-dir="$r" update-ref refs/heads/main "$commit"
		echo "$commit"
	) 2>"$LAB_DIR/git-init.log" || {
		_lab_err "git repo failed: $(cat "$LAB_DIR/git-init.log")"; return 1
	}
	export LAB_GIT_COMMIT
}

# _lab_fcgiwrap: a private fcgiwrap on a unix socket in LAB_DIR, for
# git.test (nginx hands it git http-backend requests).
_lab_fcgiwrap() {
	_lab_spawn_sock fcgiwrap fcgiwrap "$LAB_DIR/fcgiwrap.pid" "$LAB_DIR/fcgiwrap.sock" \
		fcgiwrap -c 4 -s "unix:$LAB_DIR/fcgiwrap.sock" -p "$LAB_GIT_HTTP_BACKEND"
}

# _lab_api_py: the api.test server (python3, stdlib only).
_lab_api_py() {
	cat <<'EOF'
# api.test for the Enclave test lab, generated by tests/lab/lib.sh.
# HTTPS on :443 and HTTP on :80 of one address; see tests/lab/README.md.
import argparse, base64, datetime, hashlib, hmac, json, os, socket
import socketserver, ssl, struct, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--addr", required=True)
ap.add_argument("--name", default="api.test")
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--api-key-file", required=True)
ap.add_argument("--pid-file", required=True)
ap.add_argument("--access-log", required=True)
opt = ap.parse_args()

with open(opt.api_key_file) as f:
    API_KEY = f.read().strip()
WANT_AUTH = ("Bearer " + API_KEY).encode()
LOG = open(opt.access_log, "a", buffering=1)
LOG_LOCK = threading.Lock()
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_MAX = 16 << 20


class BadRequest(Exception):
    pass


def jdump(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self):
        return "lab-api/1"

    # -- bookkeeping: one access.log line per request, nginx's format
    def handle_one_request(self):
        self._status = None
        self._sent = 0
        try:
            super().handle_one_request()
        finally:
            if self._status is not None:
                self._access()

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))

    def log_request(self, code="-", size="-"):
        pass

    def _access(self):
        host = (self.headers.get("Host", "") if self.headers else "") or opt.name
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        sa = self.connection.getsockname()
        ua = self.headers.get("User-Agent", "-") if self.headers else "-"
        line = '%s %s %s:%d %s %s "%s" %s %d "%s"\n' % (
            datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            self.client_address[0], sa[0], sa[1], self.server.scheme,
            host.lower(), self.requestline, self._status, self._sent, ua)
        with LOG_LOCK:
            LOG.write(line)

    def _write(self, data):
        self.wfile.write(data)
        self._sent += len(data)

    def _send(self, code, body, ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self._write(body)

    # -- request bodies: Content-Length or chunked; counted, not kept
    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        n = 0
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(65537)
                if not line.endswith(b"\n"):
                    raise BadRequest("bad chunk header")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequest("bad chunk size")
                if size == 0:
                    break
                n += self._drain(size)
                if self.rfile.read(2) not in (b"\r\n",):
                    raise BadRequest("bad chunk end")
            while True:  # trailers
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise BadRequest("eof in trailers")
            return n
        cl = self.headers.get("Content-Length")
        if cl is None:
            return 0
        try:
            size = int(cl)
        except ValueError:
            raise BadRequest("bad content-length")
        if size < 0:
            raise BadRequest("bad content-length")
        return self._drain(size)

    def _drain(self, size):
        left = size
        while left:
            b = self.rfile.read(min(left, 65536))
            if not b:
                raise BadRequest("eof in body")
            left -= len(b)
        return size

    def _authorized(self):
        got = self.headers.get("Authorization", "").encode()
        return hmac.compare_digest(got, WANT_AUTH)

    # -- dispatch
    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        if self.command == "TRACE":
            return self._trace()
        if path == "/ws":
            return self._ws()
        try:
            nbody = self._read_body()
        except BadRequest as e:
            self.close_connection = True
            return self._send(400, jdump({"error": str(e)}), headers=[("Connection", "close")])
        if path == "/":
            return self._send(200, ("hello from %s\n" % opt.name).encode(), "text/plain")
        if path == "/v1/whoami":
            if self._authorized():
                return self._send(200, jdump({"ok": True}))
            return self._send(401, jdump({"ok": False, "error": "unauthorized"}),
                              headers=[("WWW-Authenticate", 'Bearer realm="%s"' % opt.name)])
        if path == "/echo" or path.startswith("/echo/"):
            return self._echo(nbody)
        if path == "/sse":
            return self._sse()
        if path == "/upload":
            if self.command not in ("POST", "PUT"):
                return self._send(405, jdump({"error": "POST or PUT"}),
                                  headers=[("Allow", "POST, PUT")])
            return self._send(200, jdump({"bytes": nbody}))
        return self._send(404, jdump({"error": "not found", "path": path}))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = \
        do_TRACE = _dispatch

    def _echo(self, nbody):
        headers = {}
        for k, v in self.headers.items():
            headers[k] = headers[k] + ", " + v if k in headers else v
        self._send(200, jdump({
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": headers,
            "header_list": [[k, v] for k, v in self.headers.items()],
            "body_bytes": nbody,
            "authorized": self._authorized(),
        }))

    def _trace(self):
        # What a naive server does: echo the request head verbatim.
        try:
            self._read_body()
        except BadRequest:
            self.close_connection = True
        head = self.requestline + "\r\n" + "".join(
            "%s: %s\r\n" % (k, v) for k, v in self.headers.items()) + "\r\n"
        self._send(200, head.encode("latin-1", "replace"), "message/http")

    def _sse(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        n = max(0, min(100, int((q.get("n") or ["3"])[0] or 3)))
        delay = max(0, min(5000, int((q.get("delay") or ["200"])[0] or 0))) / 1000.0
        chunked = "close" not in q
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for i in range(1, n + 1):
            ev = ("id: %d\nevent: tick\ndata: {\"n\":%d}\n\n" % (i, i)).encode()
            if chunked:
                ev = b"%x\r\n%s\r\n" % (len(ev), ev)
            self._write(ev)
            if i < n:
                time.sleep(delay)
        if chunked:
            self._write(b"0\r\n\r\n")

    # -- WebSocket echo (RFC 6455), by hand
    def _ws(self):
        up = self.headers.get("Upgrade", "").lower()
        conn = [t.strip().lower() for t in self.headers.get("Connection", "").split(",")]
        key = self.headers.get("Sec-WebSocket-Key", "")
        if up != "websocket" or "upgrade" not in conn or not key:
            try:
                self._read_body()
            except BadRequest:
                self.close_connection = True
            return self._send(426, jdump({"error": "websocket upgrade required"}),
                              headers=[("Upgrade", "websocket")])
        acc = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", acc)
        self.end_headers()
        self.close_connection = True
        try:
            self._ws_loop()
        except (OSError, EOFError, BadRequest):
            pass

    def _ws_frame(self, op, payload, fin=True):
        b0 = (0x80 if fin else 0) | op
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", b0, n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, 127, n)
        self._write(hdr + payload)

    def _ws_read(self, n):
        b = self.rfile.read(n)
        if len(b) != n:
            raise EOFError
        return b

    def _ws_loop(self):
        while True:
            b0, b1 = self._ws_read(2)
            fin, op, masked, n = b0 & 0x80, b0 & 0x0F, b1 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._ws_read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._ws_read(8))[0]
            if n > WS_MAX:
                self._ws_frame(8, struct.pack("!H", 1009))
                return
            mask = self._ws_read(4) if masked else None
            data = self._ws_read(n)
            if mask:
                data = bytes(c ^ mask[i & 3] for i, c in enumerate(data))
            if op == 8:  # close: answer with the same code
                self._ws_frame(8, data[:2])
                return
            if op == 9:
                self._ws_frame(10, data)
            elif op == 10:
                pass
            else:  # text, binary, continuation: echoed as they came
                self._ws_frame(op, data, bool(fin))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, scheme, ctx):
        self.scheme, self.ctx = scheme, ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        # not HTTPServer's: it does a reverse DNS lookup of the address
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = opt.name, self.server_address[1]

    def finish_request(self, request, client_address):
        if self.ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(Handler.timeout)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write("%s TLS handshake failed: %s\n" % (client_address[0], e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        sys.stderr.write("%s error: %r\n" % (client_address[0], sys.exc_info()[1]))


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(opt.cert, opt.key)
ctx.set_alpn_protocols(["http/1.1"])
https = Server((opt.addr, 443), "https", ctx)
http = Server((opt.addr, 80), "http", None)
threading.Thread(target=http.serve_forever, daemon=True).start()
with open(opt.pid_file + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(opt.pid_file + ".tmp", opt.pid_file)
sys.stderr.write("api.test listening on %s:443 and :80\n" % opt.addr)
sys.stderr.flush()
https.serve_forever()
EOF
}

# _lab_api: the api.test server, in inet. It writes its pid file once
# both ports listen.
_lab_api() {
	_lab_api_py >"$LAB_DIR/api-server.py" || return 1
	_lab_spawn api python3 "$LAB_DIR/api.pid" \
		python3 -I -u "$LAB_DIR/api-server.py" --addr "$LAB_ADDR_APITEST" \
		--cert "$LAB_DIR/tls/leaf.crt" --key "$LAB_DIR/tls/leaf.key" \
		--api-key-file "$LAB_API_KEY_FILE" --pid-file "$LAB_DIR/api.pid" \
		--access-log "$LAB_DIR/access.log"
}

_lab_net() {
	local l=$LAB_NS i=$INET_NS ns kv
	for ns in "$l" "$i"; do
		_lab_run ip netns add "$ns" || return 1
	done
	for ns in "$l" "$i"; do
		_lab_run ip netns exec "$ns" sysctl -q -w \
			net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv6.conf.all.disable_ipv6=1 || return 1
		_lab_run ip -n "$ns" link set lo up || return 1
	done
	# The veth is created inside lab with its peer directly in inet: it never
	# exists in the root namespace, not even for a moment.
	_lab_run ip -n "$l" link add "$LAB_IF" type veth \
		peer name "$INET_IF" netns "$i" || return 1
	_lab_run ip -n "$l" addr add "$LAB_LINK_ADDR/$LAB_LINK_PLEN" dev "$LAB_IF" || return 1
	_lab_run ip -n "$i" addr add "$INET_LINK_ADDR/$LAB_LINK_PLEN" dev "$INET_IF" || return 1
	# Server addresses live on inet's lo (no dummy module needed).
	for kv in $LAB_SERVERS $LAB_SERVICES; do
		_lab_run ip -n "$i" addr add "${kv#*=}/32" dev lo || return 1
	done
	_lab_run ip -n "$l" link set "$LAB_IF" up || return 1
	_lab_run ip -n "$i" link set "$INET_IF" up || return 1
	_lab_run ip -n "$l" route add "$LAB_NET" via "$INET_LINK_ADDR" dev "$LAB_IF" || return 1
	_lab_run ip -n "$i" route add "$LAB_SESSION_NET" via "$LAB_LINK_ADDR" dev "$INET_IF" || return 1
}

# lab_up: build the lab. On failure it tears down what it built and
# returns 1.
lab_up() {
	if [ -z "${LAB_PREFIX:-}" ]; then
		LAB_PREFIX=e$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	fi
	case "$LAB_PREFIX" in
	*[!a-z0-9]* | '') _lab_err "LAB_PREFIX must be [a-z0-9]+"; return 1 ;;
	esac
	if [ "${#LAB_PREFIX}" -gt 10 ]; then
		_lab_err "LAB_PREFIX must be at most 10 chars (ifname limit)"; return 1
	fi
	LAB_NS=${LAB_PREFIX}lab
	INET_NS=${LAB_PREFIX}inet
	LAB_IF=${LAB_PREFIX}-lab     # in lab, peer of INET_IF
	INET_IF=${LAB_PREFIX}-inet   # in inet, peer of LAB_IF
	LAB_NETNS_ETC=/etc/netns/$LAB_NS
	export LAB_PREFIX LAB_NS INET_NS LAB_IF INET_IF LAB_NETNS_ETC
	if [ -e "/run/netns/$LAB_NS" ] || [ -e "/run/netns/$INET_NS" ] ||
		[ -e "$LAB_NETNS_ETC" ]; then
		if [ "${_LAB_OWNED:-}" = "$LAB_PREFIX" ]; then
			_lab_err "lab $LAB_PREFIX is already up in this shell"
		else
			_lab_err "lab $LAB_PREFIX already exists (not ours, left alone)"
			LAB_NS="" INET_NS="" LAB_NETNS_ETC="" LAB_DIR=""
		fi
		return 1
	fi
	LAB_DIR=$(mktemp -d "/tmp/enclave-lab-$LAB_PREFIX.XXXXXX") || return 1
	_LAB_OWNED=$LAB_PREFIX
	export LAB_DIR
	LAB_DNSMASQ_LOG=$LAB_DIR/dnsmasq.log
	LAB_ACCESS_LOG=$LAB_DIR/access.log
	LAB_CA=$LAB_DIR/tls/ca.crt
	LAB_GIT_TOKEN_FILE=$LAB_DIR/services/git-token
	LAB_API_KEY_FILE=$LAB_DIR/services/api-key
	LAB_GIT_COMMIT=""
	export LAB_DNSMASQ_LOG LAB_ACCESS_LOG LAB_CA LAB_GIT_TOKEN_FILE \
		LAB_API_KEY_FILE LAB_GIT_COMMIT

	if ! {
		_lab_net &&
		{ mkdir -p "$LAB_NETNS_ETC" || { sleep 0.1; mkdir -p "$LAB_NETNS_ETC"; }; } &&
		echo "nameserver $LAB_DNS" >"$LAB_NETNS_ETC/resolv.conf" &&
		_lab_certs &&
		_lab_services_prepare &&
		_lab_dnsmasq &&
		_lab_fcgiwrap &&
		_lab_nginx &&
		_lab_api &&
		lab_wait_port "$INET_NS" "$LAB_DNS" 53 &&
		lab_wait_port "$INET_NS" "$LAB_ADDR_ALLOWED" 80 &&
		lab_wait_port "$INET_NS" "$LAB_ADDR_ALLOWED" 443 &&
		lab_wait_port "$INET_NS" "$LAB_ADDR_GIT" 443
	}; then
		_lab_err "lab_up failed; tearing down"
		lab_down
		return 1
	fi
	return 0
}

# The daemons lab_up starts, by pid file name; dnsmasq first (tests kill
# `lab_pids | head -1` to take DNS away).
_LAB_DAEMONS="dnsmasq nginx fcgiwrap api"

# lab_pids: pids of the daemons lab_up started (from their pid files):
# dnsmasq first, then nginx, fcgiwrap and api.test's python3.
lab_pids() {
	local d
	for d in $_LAB_DAEMONS; do
		_lab_pidfile_pid "${LAB_DIR:-/nonexistent}/$d.pid" 2>/dev/null
	done
	return 0
}

# lab_down: tear everything down. Idempotent, safe after a half-failed
# lab_up, always returns 0.
lab_down() {
	local pids=() pid ns f
	# 1. our daemons, by pid file (checked to still be ours).
	for f in nginx api fcgiwrap dnsmasq; do
		pid=$(_lab_pidfile_pid "${LAB_DIR:-/nonexistent}/$f.pid") || continue
		_lab_alive "$pid" && _lab_ours "$pid" && pids+=("$pid")
	done
	[ ${#pids[@]} -gt 0 ] && _lab_kill_pids "${pids[@]}"
	# 2. anything else still inside our namespaces (nginx workers, processes
	# a test started with lab_exec), by pid; never ourselves.
	pids=()
	for ns in "${LAB_NS:-}" "${INET_NS:-}"; do
		if [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ]; then continue; fi
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$$" ] || [ "$pid" = "${BASHPID:-$$}" ] && continue
			pids+=("$pid")
		done
	done
	[ ${#pids[@]} -gt 0 ] && _lab_kill_pids "${pids[@]}"
	# 3. namespaces, /etc/netns entry, run dir.
	for ns in "${LAB_NS:-}" "${INET_NS:-}"; do
		if [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ]; then continue; fi
		ip netns del "$ns" 2>/dev/null || _lab_err "ip netns del $ns failed"
	done
	case "${LAB_NETNS_ETC:-}" in
	/etc/netns/?*)
		rm -rf -- "$LAB_NETNS_ETC"
		rmdir /etc/netns 2>/dev/null || true ;;
	esac
	case "${LAB_DIR:-}" in
	/tmp/enclave-lab-?*) rm -rf -- "$LAB_DIR" ;;
	esac
	_LAB_OWNED=""
	return 0
}

# lab_trap: install lab_down for EXIT, and make INT/TERM/HUP exit (which
# then runs the EXIT trap).
lab_trap() {
	trap lab_down EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
