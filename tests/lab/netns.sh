#!/bin/bash
# tests/lab/netns.sh - TAP: session namespaces, veth pairs, /31 addresses
# and default routes built by netns/ (through tests/lab/netns-tool) hanging
# off the lab netns; failed setups unwind; teardown leaves nothing.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) t.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

TOOL=${NETNS_TOOL:-${abs_top_builddir:-$(cd "$here/../.." && pwd)}/tests/lab/netns-tool}

lab_preflight
if [ ! -x "$TOOL" ]; then
	echo "1..1"
	echo "not ok 1 - netns-tool built ($TOOL missing; make check builds it)"
	exit 1
fi
tap_plan 30

POOL=198.19.0.0/24
PORT=8765
BG_PIDS=()

# netns_cleanup: our session namespaces and background processes, then the
# lab. Runs on every exit.
netns_cleanup() {
	local ns pid
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "${LAB_PREFIX:-}" ]; then
		for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
			case "$ns" in
			"${LAB_PREFIX}"s[0-9]*) ip netns del "$ns" 2>/dev/null ;;
			esac
		done
	fi
	lab_down
}
trap netns_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up || tap_bail "lab_up failed"
tap_diag "lab prefix $LAB_PREFIX, tool $TOOL"
P=$LAB_PREFIX
S1=${P}s1 S2=${P}s2 S3=${P}s3 S4=${P}s4
H1=${P}h1 H2=${P}h2 H3=${P}h3 H4=${P}h4
# s2's session end has a name of its own, so a stray appearance elsewhere
# would be recognisable; s1 uses the usual eth0.
X2=${P}x2

# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; tap_diag "got:  $2" "want: $3"
	fi
}

# tool CMD ARGS...: netns-tool with the lab as the appliance netns.
tool() { "$TOOL" "$1" --appliance "$LAB_NS" "${@:2}"; }

# setup NAME HOSTIF SESSIF [ARGS...]: run setup; its key=value output goes
# to LAB_DIR/NAME.out, its stderr to LAB_DIR/NAME.err.
setup() {
	tool setup --name "$1" --host-if "$2" --sess-if "$3" --pool "$POOL" \
		"${@:4}" >"$LAB_DIR/$1.out" 2>"$LAB_DIR/$1.err"
}
# val NAME KEY: a value from setup's output.
val() { sed -n "s/^$2=//p" "$LAB_DIR/$1.out"; }

# ipv4 NS DEV: "addr/plen" of DEV in NS.
ipv4() { ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | awk '{ print $4 }' | tr '\n' ' '; }
# flags NS DEV: 1 when DEV is administratively up with carrier.
is_up() {
	ip -n "$1" -o link show dev "$2" 2>/dev/null |
		grep -q '<[^>]*[<,]UP[,>][^>]*>' &&
		ip -n "$1" -o link show dev "$2" | grep -q 'LOWER_UP'
}
# lab_state: links and addresses of lab, for before/after comparisons.
lab_state() {
	ip -n "$LAB_NS" -o link show | awk '{ print $2 }' | sort | tr '\n' ' '
	ip -n "$LAB_NS" -4 -o addr show | awk '{ print $2, $4 }' | sort | tr '\n' ' '
}
routes() { ip -n "$1" -4 route show table all | grep -v '^local \|^broadcast ' | sed 's/ *$//' | tr '\n' ';'; }
sessions() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^${P}s[0-9]" | sort | tr '\n' ' '; }

# --- watchers: link events in lab and in the root namespace --------------
# Netlink listeners only; they send nothing.
ip -n "$LAB_NS" monitor link >"$LAB_DIR/mon-lab" 2>&1 &
BG_PIDS+=($!)
ip monitor link >"$LAB_DIR/mon-root" 2>&1 &
BG_PIDS+=($!)
root_links_before=$(ip -o link show | grep -cF -- "$P")
initial=$(lab_state)

# A TCP listener in lab (all its addresses) that logs "peer local data".
cat >"$LAB_DIR/listen.py" <<'EOF'
import socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(8)
deadline = time.time() + 25
with open(log, "a", buffering=1) as out:
    for _ in range(20):
        left = deadline - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            c, peer = s.accept()
        except socket.timeout:
            break
        c.settimeout(2)
        try:
            data = c.recv(64).decode(errors="replace").strip()
        except socket.timeout:
            data = ""
        out.write("%s %s %s\n" % (peer[0], c.getsockname()[0], data))
        c.close()
EOF
: >"$LAB_DIR/listen.log"
lab_exec lab python3 "$LAB_DIR/listen.py" "$PORT" "$LAB_DIR/listen.log" &
BG_PIDS+=($!)
sleep 0.3

# send NS ADDR MSG: one TCP connection from NS carrying MSG.
send() {
	# shellcheck disable=SC2016 # $0..$2 expand in the inner bash
	ip netns exec "$1" timeout 3 bash -c 'echo "$2" >"/dev/tcp/$0/$1"' \
		"$2" "$PORT" "$3" 2>&1
}
# heard MSG: the listener's "peer local" for MSG.
heard() {
	local _
	for _ in $(seq 1 20); do
		grep -q " $1\$" "$LAB_DIR/listen.log" && break
		sleep 0.05
	done
	awk -v m="$1" '$3 == m { print $1, $2 }' "$LAB_DIR/listen.log"
}

# --- 1. two sessions ------------------------------------------------------
setup "$S1" "$H1" eth0
tap_ok $? "setup $S1 ($H1 <-> eth0)"
tap_diag "$(cat "$LAB_DIR/$S1.out" "$LAB_DIR/$S1.err")"
setup "$S2" "$H2" "$X2"
tap_ok $? "setup $S2 ($H2 <-> $X2)"
[ -s "$LAB_DIR/$S2.err" ] && tap_diag "$(cat "$LAB_DIR/$S2.err")"
A1=$(val "$S1" host_addr) B1=$(val "$S1" sess_addr)
A2=$(val "$S2" host_addr) B2=$(val "$S2" sess_addr)

expect "ip netns list shows both session namespaces" "$(sessions)" "$S1 $S2 "
expect "pairs are the two lowest /31s of $POOL" "$A1 $B1 $A2 $B2" \
	"198.19.0.0 198.19.0.1 198.19.0.2 198.19.0.3"
expect "addresses on the links are the /31 pairs" \
	"$(ipv4 "$LAB_NS" "$H1")/$(ipv4 "$S1" eth0)/$(ipv4 "$LAB_NS" "$H2")/$(ipv4 "$S2" "$X2")" \
	"$A1/31 /$B1/31 /$A2/31 /$B2/31 "
st=0
for l in "$LAB_NS $H1" "$LAB_NS $H2" "$S1 eth0" "$S2 $X2" "$S1 lo" "$S2 lo"; do
	# shellcheck disable=SC2086 # "ns dev" pairs
	is_up $l || { st=1; tap_diag "not up: $l"; }
done
tap_ok "$st" "veth ends and lo are up (UP, LOWER_UP) on both sides"
expect "$S1 routes: default via $A1, the connected /31" \
	"$(routes "$S1")" \
	"default via $A1 dev eth0 proto static;198.19.0.0/31 dev eth0 proto kernel scope link src $B1;"
expect "$S2 routes: default via $A2, the connected /31" \
	"$(routes "$S2")" \
	"default via $A2 dev $X2 proto static;198.19.0.2/31 dev $X2 proto kernel scope link src $B2;"
got=""
for l in "$S1 eth0" "$S2 $X2"; do
	# shellcheck disable=SC2086 # "ns dev" pairs
	set -- $l
	got="$got$(ip netns exec "$1" sysctl -n net.ipv6.conf.all.disable_ipv6 \
		net.ipv6.conf.default.disable_ipv6 net.ipv6.conf.lo.disable_ipv6 \
		"net.ipv6.conf.$2.disable_ipv6" | tr -d '\n')"
	got="$got$(ip -n "$1" -6 -o addr show | wc -l)$(ip -n "$1" -6 route show | wc -l) "
done
expect "IPv6 is off in the sessions (all/default/lo/veth = 1, no v6 addresses or routes)" \
	"$got" "111100 111100 "
expect "session ends are veths whose peers are in lab" \
	"$(ip -n "$S1" -d -o link show eth0 | grep -c ' veth ')$(ip -n "$LAB_NS" -o link show "$H1" | grep -c "link-netns $S1")$(ip -n "$LAB_NS" -o link show "$H2" | grep -c "link-netns $S2")" \
	"111"

# --- 2. traffic -------------------------------------------------------------
lab_wait_port "$S1" "$A1" "$PORT" 5 >/dev/null 2>&1
out=$(send "$S1" "$A1" "hello-s1")
expect "TCP from $S1 to its host side $A1 arrives from $B1" "$(heard hello-s1)" "$B1 $A1"
[ -n "$out" ] && tap_diag "$out"
out=$(send "$S2" "$LAB_LINK_ADDR" "hello-s2")
expect "TCP from $S2 to lab's $LAB_LINK_ADDR goes via its default route" \
	"$(heard hello-s2)" "$B2 $LAB_LINK_ADDR"
[ -n "$out" ] && tap_diag "$out"

# --- 3. a restarted allocator rescans and skips pairs in use ----------------
setup "$S3" "$H3" eth0
tap_ok $? "setup $S3 after a restart (a fresh tool process rescans lab)"
expect "$S3 gets the next free pair, not one of the first two" \
	"$(val "$S3" host_addr) $(val "$S3" sess_addr)" "198.19.0.4 198.19.0.5"
expect "scan lists the three pairs in use" \
	"$(tool scan --pool "$POOL" | tr '\n' ' ')" \
	"198.19.0.0 198.19.0.1 198.19.0.2 198.19.0.3 198.19.0.4 198.19.0.5 "

# --- 4. failed setups unwind completely --------------------------------------
before=$(lab_state)
setup "$S4" "$H1" eth0
st=$?
err=$(cat "$LAB_DIR/$S4.err")
tap_diag "$err"
[ "$st" -ne 0 ] && [ "$err" = "netns-tool: setup: create veth $H1/eth0: File exists" ]
tap_ok $? "setup with a taken host ifname fails at the veth step"
expect "...and leaves no netns and no new link or address in lab" \
	"$(sessions)|$(lab_state)" "$S1 $S2 $S3 |$before"

setup "$S4" "$H4" eth0 --host-addr 198.19.0.6 --sess-addr 198.19.0.9
st=$?
err=$(cat "$LAB_DIR/$S4.err")
tap_diag "$err"
case "$err" in
"netns-tool: setup: add default route via 198.19.0.6 dev eth0: Network is unreachable"*) [ "$st" -ne 0 ] ;;
*) false ;;
esac
tap_ok $? "setup with a gateway off the session's /31 fails at the last step (route)"
expect "...and unwinds the veth, its addresses and the netns" \
	"$(sessions)|$(lab_state)" "$S1 $S2 $S3 |$before"

setup "$S1" "$H4" eth0
st=$?
err=$(cat "$LAB_DIR/$S1.err")
[ "$st" -ne 0 ] && [ "$err" = "netns-tool: setup: create netns $S1: File exists" ]
tap_ok $? "setup of an existing netns name fails at the netns step"
expect "...and leaves the existing $S1 alone" \
	"$(ipv4 "$S1" eth0)|$(sessions)|$(lab_state)" "$B1/31 |$S1 $S2 $S3 |$before"

# --- 5. teardown --------------------------------------------------------------
tool teardown --name "$S1" --host-if "$H1" 2>"$LAB_DIR/td1.err"
tap_ok $? "teardown $S1"
expect "$S1 and $H1 are gone, $S2 and $S3 remain" \
	"$(sessions)|$(ip -n "$LAB_NS" -o link show "$H1" 2>/dev/null | wc -l)" "$S2 $S3 |0"
out=$(send "$S2" "$A2" "again-s2")
expect "$S2 still reaches its host side" "$(heard again-s2)" "$B2 $A2"
[ -n "$out" ] && tap_diag "$out"
tool teardown --name "$S1" --host-if "$H1" 2>"$LAB_DIR/td1b.err"
tap_ok $? "teardown of an already removed session succeeds"
[ -s "$LAB_DIR/td1.err" ] && tap_diag "$(cat "$LAB_DIR/td1.err")"
[ -s "$LAB_DIR/td1b.err" ] && tap_diag "$(cat "$LAB_DIR/td1b.err")"

setup "$S4" "$H4" eth0
expect "a new session reuses the lowest freed pair" \
	"$(val "$S4" host_addr) $(val "$S4" sess_addr)" "198.19.0.0 198.19.0.1"

st=0
for s in "$S2 $H2" "$S3 $H3" "$S4 $H4"; do
	# shellcheck disable=SC2086 # "ns ifname" pairs
	set -- $s
	tool teardown --name "$1" --host-if "$2" || st=1
done
tap_ok "$st" "teardown of the other sessions"
expect "nothing left: no session netns; lab's links and addresses as before" \
	"$(sessions)|$(lab_state)" "|$initial"

# --- 6. the session ends never existed outside their namespaces -------------
sleep 0.2
for pid in "${BG_PIDS[@]:0:2}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
lab_seen=$(grep -cE "(^|[0-9]+: )(eth0|$X2)[@:]" "$LAB_DIR/mon-lab")
root_seen=$(grep -cF -- "$P" "$LAB_DIR/mon-root")
root_links_after=$(ip -o link show | grep -cF -- "$P")
expect "lab never saw a session end; the root netns never saw any of our links" \
	"$lab_seen $root_seen $root_links_before $root_links_after" "0 0 0 0"
grep -qF "$H1" "$LAB_DIR/mon-lab"
tap_ok $? "(the lab monitor did see the host ends)"

tap_done
