#!/bin/bash
# tests/lab/nflog.sh - TAP: drops logged to an NFLOG group come back from
# rules/nflog as structured records (mark, reason, proto, src, dst, dport,
# indev), and the kernel copies us no more than the headers.
#
# A session netns s1 hangs off lab by a veth (198.19.0.0/31 lab side,
# 198.19.0.1/31 in s1, s1's default route via lab). In lab, a stand-in of
# the product's guard chain (table inet enclavetest) marks s1's packets 42
# and logs + drops them; nflog-tool listens in lab while s1 sends UDP, ICMP,
# a spoofed-source packet, IPv6, and a long UDP packet carrying a marker
# past the copy range. Every packet is dropped in lab's prerouting: none
# goes further.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) t.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

NFLOG_TOOL=${NFLOG_TOOL:-${abs_top_builddir:-$(cd "$here/../.." && pwd)}/tests/lab/nflog-tool}
GROUP=7
MARK=42
COPY_RANGE=128          # NFLOG_COPY_RANGE in rules/nflog.h
SESS_ADDR=198.19.0.1
HOST_ADDR=198.19.0.0
SPOOF_ADDR=198.19.0.77
DST=$LAB_ADDR_ALLOWED
MARKER=SECRET-MARKER

lab_preflight
missing=""
command -v nft >/dev/null 2>&1 || missing="$missing nft"
[ -x "$NFLOG_TOOL" ] || missing="$missing $NFLOG_TOOL"
if [ -n "$missing" ]; then
	echo "1..1"
	echo "not ok 1 - nflog lab prerequisites present (missing:$missing)"
	exit 1
fi
tap_plan 18

S1_NS="" TOOL_PID=""

# nflog_session_down: stop the tool and delete s1 (its veth goes with it).
# Idempotent; bounded.
nflog_session_down() {
	local pids=() pid
	if [ -n "$TOOL_PID" ] && _lab_alive "$TOOL_PID"; then pids+=("$TOOL_PID"); fi
	if [ -n "$S1_NS" ] && [ -e "/run/netns/$S1_NS" ]; then
		for pid in $(ip netns pids "$S1_NS" 2>/dev/null); do
			[ "$pid" = "$$" ] || pids+=("$pid")
		done
	fi
	[ ${#pids[@]} -gt 0 ] && _lab_kill_pids "${pids[@]}"
	if [ -n "$S1_NS" ] && [ -e "/run/netns/$S1_NS" ]; then
		ip netns del "$S1_NS" 2>/dev/null || _lab_err "ip netns del $S1_NS failed"
	fi
	return 0
}
nflog_cleanup() { nflog_session_down; lab_down; }
trap nflog_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up || tap_bail "lab_up failed"
tap_diag "lab prefix $LAB_PREFIX, dir $LAB_DIR"
S1_NS=${LAB_PREFIX}s1
HOST_IF=${LAB_PREFIX}-s1        # in lab
SESS_IF=${LAB_PREFIX}-s1p       # in s1
OUT=$LAB_DIR/nflog.out
ERR=$LAB_DIR/nflog.err

# --- 1. session netns ---------------------------------------------------
# IPv6 stays enabled in s1 (DAD off, so the link-local is usable at once).
# lab disables IPv6 on every interface, and the kernel then discards IPv6
# before the prerouting hook: enable it on the lab end of this one veth,
# or the "ipv6" rule never sees a packet.
session_up() {
	_lab_run ip netns add "$S1_NS" &&
	_lab_run ip netns exec "$S1_NS" sysctl -q -w \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 &&
	_lab_run ip -n "$S1_NS" link set lo up &&
	_lab_run ip -n "$LAB_NS" link add "$HOST_IF" type veth \
		peer name "$SESS_IF" netns "$S1_NS" &&
	_lab_run ip netns exec "$LAB_NS" sysctl -q -w \
		"net.ipv6.conf.$HOST_IF.disable_ipv6=0" &&
	_lab_run ip -n "$LAB_NS" addr add "$HOST_ADDR/31" dev "$HOST_IF" &&
	_lab_run ip -n "$S1_NS" addr add "$SESS_ADDR/31" dev "$SESS_IF" &&
	_lab_run ip -n "$LAB_NS" link set "$HOST_IF" up &&
	_lab_run ip -n "$S1_NS" link set "$SESS_IF" up &&
	_lab_run ip -n "$S1_NS" route add default via "$HOST_ADDR" dev "$SESS_IF"
}

# s1_linklocal: s1's fe80:: address once it is usable; bounded (~3 s).
s1_linklocal() {
	local _ a
	for _ in $(seq 1 60); do
		a=$(ip -n "$S1_NS" -6 -o addr show dev "$SESS_IF" scope link 2>/dev/null |
			awk '!/tentative/ { sub(/\/.*/, "", $4); print $4; exit }')
		if [ -n "$a" ]; then echo "$a"; return 0; fi
		sleep 0.05
	done
	return 1
}

session_up; tap_ok $? "session netns $S1_NS wired to lab ($HOST_IF $HOST_ADDR <-> $SESS_IF $SESS_ADDR)"
S1_LL=$(s1_linklocal); tap_ok $? "s1 has an IPv6 link-local address (${S1_LL:-none})"
INDEV=$(ip netns exec "$LAB_NS" cat "/sys/class/net/$HOST_IF/ifindex" 2>/dev/null)

# --- 2. stand-in guard chain ---------------------------------------------
# The product's rules (table inet enclave, chain guard), cut to one session.
# IPv6: only our probe is logged, so s1's own ND/MLD chatter (also dropped)
# cannot make the record count flaky.
guard_rules() {
	cat <<EOF
table inet enclavetest {
	chain guard {
		type filter hook prerouting priority raw; policy accept;
		iifname != "$HOST_IF" return
		meta mark set $MARK
		meta nfproto ipv6 udp dport 9999 log prefix "ipv6" group $GROUP drop
		meta nfproto ipv6 drop
		ip saddr != $SESS_ADDR log prefix "spoof" group $GROUP drop
		udp dport 9999 log prefix "proto" group $GROUP drop
		meta l4proto icmp log prefix "proto" group $GROUP drop
		drop
	}
}
EOF
}
guard_rules >"$LAB_DIR/guard.nft"
tap_check "stand-in guard chain loaded in $LAB_NS" \
	ip netns exec "$LAB_NS" nft -f "$LAB_DIR/guard.nft"

# --- 3. listener -----------------------------------------------------------
# Plain `ip netns exec` so that $! is the tool itself (ip execs it).
ip netns exec "$LAB_NS" "$NFLOG_TOOL" listen --group "$GROUP" --count 5 \
	--timeout-ms 15000 --debug >"$OUT" 2>"$ERR" </dev/null &
TOOL_PID=$!
disown "$TOOL_PID" 2>/dev/null || true
bound=1
for _ in $(seq 1 100); do
	if grep -q "listening on group $GROUP" "$ERR" 2>/dev/null; then bound=0; break; fi
	_lab_alive "$TOOL_PID" || break
	sleep 0.05
done
tap_ok "$bound" "nflog-tool bound group $GROUP in $LAB_NS"
[ "$bound" -eq 0 ] || tap_diag "$(cat "$ERR")"

# A second reader of the same group is refused, not silently starved.
second=$(ip netns exec "$LAB_NS" timeout 5 "$NFLOG_TOOL" listen --group "$GROUP" \
	--count 1 --timeout-ms 200 2>&1 </dev/null)
second_rc=$?
[ "$second_rc" -eq 1 ] && case "$second" in *"already bound"*) true ;; *) false ;; esac
tap_ok $? "a second listener on group $GROUP fails: group already bound (status $second_rc)"
[ "$second_rc" -eq 1 ] || tap_diag "$second"

# --- 4. traffic from s1 ----------------------------------------------------
send_probes() {
	ip netns exec "$S1_NS" python3 - "$DST" "$SPOOF_ADDR" "$SESS_IF" "$MARKER" <<'EOF'
import socket, struct, sys, time
dst, spoof, ifname, marker = sys.argv[1:5]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def udp4(sport, dport, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", sport))
    s.sendto(data, (dst, dport))
    s.close()

# 1. UDP to a port the guard refuses.
udp4(40001, 9999, b"hello")
time.sleep(0.05)
# 2. ICMP echo.
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
echo = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"ping"
echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
s.sendto(echo, (dst, 0))
s.close()
time.sleep(0.05)
# 3. A spoofed source, built by hand (the kernel fills id and checksum).
payload = b"spoofed"
udp = struct.pack("!HHHH", 40003, 5000, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 socket.inet_aton(spoof), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
s.close()
time.sleep(0.05)
# 4. IPv6: UDP to all-nodes on the session link.
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 40004))
s.sendto(b"v6", ("ff02::1", 9999, 0, socket.if_nametoindex(ifname)))
s.close()
time.sleep(0.05)
# 5. The marker sits past the copy range: the kernel must never copy it.
udp4(40005, 9999, b"A" * 200 + marker.encode())
EOF
}
send_probes; tap_ok $? "s1 sent UDP, ICMP, spoofed, IPv6 and long UDP probes"

# The tool stops after 5 records or its own 15 s timeout; wait a bit more.
for _ in $(seq 1 340); do _lab_alive "$TOOL_PID" || break; sleep 0.05; done
if _lab_alive "$TOOL_PID"; then
	_lab_kill_pids "$TOOL_PID"
	tool_rc=124
else
	wait "$TOOL_PID" 2>/dev/null; tool_rc=$?
fi
TOOL_PID=""
tap_ok "$tool_rc" "nflog-tool printed 5 records and exited 0 (status $tool_rc)"
if [ "$tool_rc" -ne 0 ]; then tap_diag "stderr: $(cat "$ERR")"; fi

# has_record JSON: some output line has every key/value of JSON.
has_record() {
	python3 - "$OUT" "$1" <<'EOF'
import json, sys
want = json.loads(sys.argv[2])
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for rec in lines:
    if all(k in rec and rec[k] == v for k, v in want.items()):
        sys.exit(0)
print("no record matches", json.dumps(want))
for rec in lines:
    print("got", json.dumps(rec))
sys.exit(1)
EOF
}

# all_records DESC PYEXPR: PYEXPR (over `r`) holds for every record.
all_records() {
	local desc=$1 expr=$2
	tap_check "$desc" python3 - "$OUT" "$expr" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in lines if not eval(sys.argv[2], {}, {"r": r})]
for r in bad:
    print("fails:", json.dumps(r))
sys.exit(1 if bad or not lines else 0)
EOF
}

common="\"mark\":$MARK,\"indev\":${INDEV:-0}"
tap_check "UDP to :9999 -> protocol_not_allowed udp $SESS_ADDR -> $DST:9999" \
	has_record "{$common,\"reason\":\"protocol_not_allowed\",\"proto\":\"udp\",\"src\":\"$SESS_ADDR\",\"dst\":\"$DST\",\"dport\":9999,\"sport\":40001}"
tap_check "ICMP echo -> protocol_not_allowed icmp type 8, no port" \
	has_record "{$common,\"reason\":\"protocol_not_allowed\",\"proto\":\"icmp\",\"src\":\"$SESS_ADDR\",\"dst\":\"$DST\",\"dport\":null,\"icmp_type\":8}"
tap_check "spoofed source -> spoofed_source udp $SPOOF_ADDR -> $DST:5000" \
	has_record "{$common,\"reason\":\"spoofed_source\",\"proto\":\"udp\",\"src\":\"$SPOOF_ADDR\",\"dst\":\"$DST\",\"dport\":5000}"
tap_check "IPv6 -> ipv6_disabled udp ${S1_LL:-?} -> ff02::1:9999" \
	has_record "{$common,\"reason\":\"ipv6_disabled\",\"proto\":\"udp\",\"src\":\"${S1_LL:-?}\",\"dst\":\"ff02::1\",\"dport\":9999}"
all_records "every record carries mark $MARK and indev $INDEV (lab end of the veth)" \
	"r['mark'] == $MARK and r['indev'] == ${INDEV:-0}"

# --- 5. copy range ---------------------------------------------------------
tap_check "long UDP packet: the kernel copied $COPY_RANGE bytes of a longer packet" \
	has_record "{\"sport\":40005,\"cap_len\":$COPY_RANGE,\"pkt_len\":$((20 + 8 + 200 + ${#MARKER}))}"
all_records "no record received more than $COPY_RANGE payload bytes" \
	"r['cap_len'] <= $COPY_RANGE and r['cap_len'] <= r['pkt_len']"
! grep -qF "$MARKER" "$OUT" "$ERR"; tap_ok $? "the marker past the copy range never reached the tool"
grep -q "records=5 lost=0 overruns=0 bad=0" "$ERR"; tap_ok $? "no record lost, none unparsable"
[ "$(wc -l <"$OUT")" -eq 5 ]; tap_ok $? "exactly 5 records (one per probe)"

# --- 6. teardown -----------------------------------------------------------
# The kernel dismantles a deleted netns asynchronously: the lab end of the
# veth lingers for a moment.
nflog_session_down
gone=1
for _ in $(seq 1 100); do
	if [ ! -e "/run/netns/$S1_NS" ] &&
		! ip -n "$LAB_NS" link show "$HOST_IF" >/dev/null 2>&1; then
		gone=0; break
	fi
	sleep 0.05
done
tap_ok "$gone" "session netns and its veth are gone"

tap_done
