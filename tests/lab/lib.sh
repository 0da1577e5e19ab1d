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

LAB_WAIT_TIMEOUT=${LAB_WAIT_TIMEOUT:-10}   # seconds, for lab_wait_port
LAB_TOOLS="ip dnsmasq nginx openssl curl python3 getent timeout mktemp stat od"

export LAB_NET LAB_LINK_NET LAB_SRV_NET LAB_SESSION_NET LAB_LINK_ADDR \
	INET_LINK_ADDR LAB_LINK_PLEN LAB_DNS LAB_ADDR_ALLOWED LAB_ADDR_OTHER \
	LAB_ADDR_API LAB_ADDR_EXFIL LAB_ANSWER_REBIND LAB_ANSWER_PRIVATE \
	LAB_SERVERS LAB_WAIT_TIMEOUT

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
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
		_lab_err "pid $pid is not $comm"; return 1
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

# _lab_certs: per-run CA and one leaf cert (SANs for every test name).
_lab_certs() {
	local d=$LAB_DIR/tls sans="" kv
	for kv in $LAB_SERVERS; do sans="$sans${sans:+,}DNS:${kv%%=*}"; done
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
	for kv in $LAB_SERVERS; do args+=("--host-record=${kv%%=*},${kv#*=}"); done
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
	echo "}"
}

_lab_nginx() {
	mkdir -p "$LAB_DIR/nginx-tmp" || return 1
	_lab_nginx_conf >"$LAB_DIR/nginx.conf" || return 1
	_lab_spawn nginx nginx "$LAB_DIR/nginx.pid" \
		nginx -p "$LAB_DIR" -c "$LAB_DIR/nginx.conf" -e "$LAB_DIR/nginx-error.log"
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
	for kv in $LAB_SERVERS; do
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
	export LAB_DNSMASQ_LOG LAB_ACCESS_LOG LAB_CA

	if ! {
		_lab_net &&
		{ mkdir -p "$LAB_NETNS_ETC" || { sleep 0.1; mkdir -p "$LAB_NETNS_ETC"; }; } &&
		echo "nameserver $LAB_DNS" >"$LAB_NETNS_ETC/resolv.conf" &&
		_lab_certs &&
		_lab_dnsmasq &&
		_lab_nginx &&
		lab_wait_port "$INET_NS" "$LAB_DNS" 53 &&
		lab_wait_port "$INET_NS" "$LAB_ADDR_ALLOWED" 80 &&
		lab_wait_port "$INET_NS" "$LAB_ADDR_ALLOWED" 443
	}; then
		_lab_err "lab_up failed; tearing down"
		lab_down
		return 1
	fi
	return 0
}

# lab_pids: pids of the daemons lab_up started (from their pid files).
lab_pids() {
	local f
	for f in "${LAB_DIR:-/nonexistent}/dnsmasq.pid" "${LAB_DIR:-/nonexistent}/nginx.pid"; do
		_lab_pidfile_pid "$f" 2>/dev/null
	done
	return 0
}

# lab_down: tear everything down. Idempotent, safe after a half-failed
# lab_up, always returns 0.
lab_down() {
	local pids=() pid ns f
	# 1. our daemons, by pid file (checked to still be ours).
	for f in "${LAB_DIR:-/nonexistent}/nginx.pid" "${LAB_DIR:-/nonexistent}/dnsmasq.pid"; do
		pid=$(_lab_pidfile_pid "$f") || continue
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
