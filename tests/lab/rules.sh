#!/bin/bash
# tests/lab/rules.sh - TAP: the nft table inet enclave, built with libnftnl
# by rules-tool, enforces what DESIGN.md says, in real namespaces.
# The golden dump: RULES_GOLDEN_UPDATE=1 tests/lab/rules.sh rewrites
# tests/lab/golden/enclave.nft; review the diff before committing.
#
# Two session namespaces hang off lab by veth (198.19.0.0/31 and
# 198.19.0.2/31). Python listeners in lab stand in for proxyd's transparent
# port (15001) and DNS port (5353). From a session: TCP anywhere must land
# on the proxy port with SO_ORIGINAL_DST intact, DNS on the DNS port, and
# everything else (UDP, ICMP, IPv6, spoofed sources, traffic to the other
# session) must be dropped and counted. A counter in inet proves nothing
# from a session ever arrived there directly, even with ip_forward=1 in lab.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) t.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RULES_TOOL=${RULES_TOOL:-"${abs_top_builddir:-$(cd "$here/../.." && pwd)}/tests/lab/rules-tool"}
GOLDEN=$here/golden/enclave.nft
TPROXY_PORT=15001
DNS_PORT=5353
NFLOG_GROUP=7

lab_preflight
if ! command -v nft >/dev/null 2>&1 || [ ! -x "$RULES_TOOL" ]; then
	echo "1..1"
	echo "not ok 1 - nft and $RULES_TOOL present (build with make check)"
	exit 1
fi
tap_plan 33

S1_NS="" S2_NS=""
# Our session namespaces first (their processes by pid, then the netns),
# then the lab.
rules_down() {
	local ns pid pids
	for ns in "$S1_NS" "$S2_NS"; do
		if [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ]; then continue; fi
		pids=()
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$$" ] && continue
			pids+=("$pid")
		done
		[ ${#pids[@]} -gt 0 ] && _lab_kill_pids "${pids[@]}"
		ip netns del "$ns" 2>/dev/null || _lab_err "ip netns del $ns failed"
	done
	lab_down
}
trap rules_down EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up || tap_bail "lab_up failed"
S1_NS=${LAB_PREFIX}s1
S2_NS=${LAB_PREFIX}s2
S1_IF=${LAB_PREFIX}-s1        # host side, in lab
S2_IF=${LAB_PREFIX}-s2
S1_HOST=198.19.0.0 S1_ADDR=198.19.0.1
S2_HOST=198.19.0.2 S2_ADDR=198.19.0.3
SPOOF_ADDR=198.19.0.100
DEAD_IF=${LAB_PREFIX}-dead DEAD_ADDR=198.19.0.200
tap_diag "lab prefix $LAB_PREFIX, dir $LAB_DIR, tool $RULES_TOOL"

tool() { ip netns exec "$LAB_NS" "$RULES_TOOL" "$@"; }
cfg=(--tproxy-port "$TPROXY_PORT" --dns-port "$DNS_PORT" --nflog-group "$NFLOG_GROUP")

# session_up NS HOSTIF HOSTADDR ADDR: a session netns wired to lab.
session_up() {
	local ns=$1 hif=$2 haddr=$3 addr=$4
	_lab_run ip netns add "$ns" &&
	_lab_run ip netns exec "$ns" sysctl -q -w \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	_lab_run ip -n "$ns" link set lo up &&
	_lab_run ip -n "$LAB_NS" link add "$hif" type veth peer name eth0 netns "$ns" &&
	_lab_run ip -n "$LAB_NS" addr add "$haddr/31" dev "$hif" &&
	_lab_run ip -n "$ns" addr add "$addr/31" dev eth0 &&
	_lab_run ip -n "$LAB_NS" link set "$hif" up &&
	_lab_run ip -n "$ns" link set eth0 up &&
	_lab_run ip -n "$ns" route add default via "$haddr" dev eth0
}
session_up "$S1_NS" "$S1_IF" "$S1_HOST" "$S1_ADDR" || tap_bail "session s1"
session_up "$S2_NS" "$S2_IF" "$S2_HOST" "$S2_ADDR" || tap_bail "session s2"

# Listeners and probes. Every wait is bounded; the listener exits by itself.
cat >"$LAB_DIR/probe.py" <<'EOF'
import os, select, socket, struct, sys, time

def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")

def listen(path, spec):
    socks = {}
    for item in spec.split(","):
        kind, addr, port = item.split(":")
        s = socket.socket(socket.AF_INET,
                          socket.SOCK_DGRAM if kind.endswith("udp") else socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        if not kind.endswith("udp"):
            s.listen(16)
        socks[s] = kind
    log(path, "ready")
    end = time.time() + 300
    while time.time() < end:
        r, _, _ = select.select(list(socks), [], [], 1)
        for s in r:
            kind = socks[s]
            if kind.endswith("udp"):
                data, peer = s.recvfrom(2048)
                log(path, "%s peer=%s data=%s" % (kind, peer[0], data.decode(errors="replace")))
                s.sendto(b"answer-" + data, peer)
                continue
            c, peer = s.accept()
            orig = "-"
            if kind == "proxy":
                raw = c.getsockopt(socket.SOL_IP, 80, 16)  # SO_ORIGINAL_DST
                port, = struct.unpack("!H", raw[2:4])
                orig = "%s:%d" % (socket.inet_ntoa(raw[4:8]), port)
            log(path, "%s peer=%s orig=%s" % (kind, peer[0], orig))
            try:
                c.sendall(b"hello-from-" + kind.encode() + b"\n")
            except OSError:
                pass
            c.close()

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def main():
    mode = sys.argv[1]
    if mode == "listen":
        return listen(sys.argv[2], sys.argv[3])
    if mode == "tcp":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=2)
        s.settimeout(2)
        print("connected", s.recv(64).decode().strip())
        return 0
    if mode == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if len(sys.argv) > 5:
            s.bind((sys.argv[5], 0))
        s.settimeout(1.5)
        s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
        try:
            print("reply", s.recv(2048).decode())
            return 0
        except socket.timeout:
            print("noreply")
            return 1
    if mode in ("icmp", "icmp6"):
        v6 = mode == "icmp6"
        if v6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            dst = (sys.argv[2], 0, 0, socket.if_nametoindex(sys.argv[3]))
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            dst = (sys.argv[2], 0)
        ident, count, got = os.getpid() & 0xffff, int(sys.argv[-1]), 0
        for seq in range(count):
            hdr = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, seq)
            pkt = hdr + b"enclave-probe"
            if not v6:
                pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
            s.sendto(pkt, dst)
            end = time.time() + 0.5
            while time.time() < end:
                r, _, _ = select.select([s], [], [], max(0, end - time.time()))
                if not r:
                    break
                data = s.recv(2048)
                icmp = data if v6 else data[(data[0] & 0xf) * 4:]
                if icmp[0] == (129 if v6 else 0) and struct.unpack("!H", icmp[4:6])[0] == ident:
                    got += 1
                    break
        print("replies", got)
        return 0 if got else 1
    return 2

sys.exit(main() or 0)
EOF

PROXY_LOG=$LAB_DIR/proxy.log
S2_LOG=$LAB_DIR/s2.log
probe() { local ns=$1; shift; ip netns exec "$ns" timeout 10 python3 "$LAB_DIR/probe.py" "$@"; }
# wait_for FILE PATTERN: bounded (3 s) wait for a line.
wait_for() {
	local _
	for _ in $(seq 1 30); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# rule_pkts CHAIN PREFIX: packets counted by the drop rules logging PREFIX.
rule_pkts() {
	ip netns exec "$LAB_NS" nft list chain inet enclave "$1" |
		awk -v p="prefix \"$2\"" 'index($0, p) {
			for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1)
		} END { print s + 0 }'
}
# counter_of ADDR FIELD: one per-session counter, via rules-tool.
counter_of() { tool counters --addr "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# normalise: the parts of `nft list ruleset` that vary from run to run made
# fixed: interface names (they carry LAB_PREFIX) become placeholders,
# counters zero, and each element list one line in sorted order (nft wraps
# long lists, and a hash set lists in hash order).
normalise() {
	python3 -c '
import re, sys
s1, s2, dead = sys.argv[1:4]
text = sys.stdin.read()
for name, ph in ((s1, "@S1_IF@"), (s2, "@S2_IF@"), (dead, "@DEAD_IF@")):
    text = text.replace("\"%s\"" % name, "\"%s\"" % ph)
text = re.sub(r"packets \d+ bytes \d+", "packets 0 bytes 0", text)
def one_line(m):
    items = sorted(i.strip() for i in m.group(2).split(","))
    return m.group(1) + ", ".join(items) + " }"
text = re.sub(r"(elements = \{ )([^}]*?)\s*\}", one_line, text, flags=re.S)
sys.stdout.write(text)
' "$S1_IF" "$S2_IF" "$DEAD_IF"
}
structure_matches() { # [CONFIG...]: the kernel's table has the structure we build
	diff <(tool text "$@") <(tool text --built "$@")
}

# --- 1. the table, built and sent by rules-tool ------------------------------
tap_check "rules-tool init creates table inet enclave" tool init "${cfg[@]}"
out=$(tool init "${cfg[@]}" 2>&1 && tool reconcile "${cfg[@]}" 2>&1)
[ "$out" = "replaced=0 added=0 deleted=0" ]
tap_ok $? "init again is idempotent; reconcile finds the structure intact"
[ -n "$out" ] && [ "$out" != "replaced=0 added=0 deleted=0" ] && tap_diag "$out"
add_both() {
	tool add "${cfg[@]}" --if "$S1_IF" --mark 1 --addr "$S1_ADDR" &&
		tool add "${cfg[@]}" --if "$S2_IF" --mark 2 --addr "$S2_ADDR"
}
tap_check "add sessions s1 (mark 1) and s2 (mark 2)" add_both
out=$(tool add "${cfg[@]}" --if "$S1_IF" --mark 1 --addr "$S1_ADDR" 2>&1)
st=$?
[ "$st" -ne 0 ] && [[ "$out" == *"add elements session_ifaces: File exists"* ]]
tap_ok $? "adding s1 twice fails atomically and names the object"
[ "$st" -ne 0 ] || tap_diag "$out"

listing=$LAB_DIR/ruleset.nft
ip netns exec "$LAB_NS" nft list ruleset | normalise >"$listing"
# RULES_GOLDEN_UPDATE=1 rewrites the golden dump; a human reviews the diff.
[ -n "${RULES_GOLDEN_UPDATE:-}" ] && cp "$listing" "$GOLDEN"
if diff -u "$GOLDEN" "$listing" >"$LAB_DIR/golden.diff"; then
	ok "nft list ruleset matches tests/lab/golden/enclave.nft"
else
	not_ok "nft list ruleset matches tests/lab/golden/enclave.nft"
	tap_diag "$(cat "$LAB_DIR/golden.diff")"
fi
tap_check "kernel's structure equals the one rules_state_build() makes" structure_matches "${cfg[@]}"

# --- 2. traffic --------------------------------------------------------------
# Forwarding on: the rules, not the sysctl, must keep every packet in.
lab_exec lab sysctl -q -w net.ipv4.ip_forward=1
lab_exec inet nft -f - <<EOF
table inet labcount {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		ip saddr $LAB_SESSION_NET counter
	}
}
EOF
ip netns exec "$LAB_NS" python3 "$LAB_DIR/probe.py" listen "$PROXY_LOG" \
	"proxy:0.0.0.0:$TPROXY_PORT,dnsudp:0.0.0.0:$DNS_PORT,dnstcp:0.0.0.0:$DNS_PORT,svc:$S1_HOST:7777" \
	>/dev/null 2>&1 &
ip netns exec "$S2_NS" python3 "$LAB_DIR/probe.py" listen "$S2_LOG" \
	"s2tcp:$S2_ADDR:80,s2udp:$S2_ADDR:9999" >/dev/null 2>&1 &
if ! wait_for "$PROXY_LOG" '^ready' || ! wait_for "$S2_LOG" '^ready'; then
	tap_bail "listeners did not start"
fi

out=$(probe "$S1_NS" tcp "$LAB_ADDR_ALLOWED" 80 2>&1)
wait_for "$PROXY_LOG" "^proxy peer=$S1_ADDR orig=$LAB_ADDR_ALLOWED:80\$"
tap_ok $? "TCP s1 -> $LAB_ADDR_ALLOWED:80 lands on the proxy port, SO_ORIGINAL_DST $LAB_ADDR_ALLOWED:80 ($out)"

out=$(probe "$S1_NS" udp "$LAB_DNS" 53 q1 2>&1)
[ "$out" = "reply answer-q1" ] && wait_for "$PROXY_LOG" "^dnsudp peer=$S1_ADDR data=q1\$"
tap_ok $? "UDP s1 -> $LAB_DNS:53 lands on the DNS port and the answer comes back ($out)"

probe "$S1_NS" tcp "$LAB_DNS" 53 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^dnstcp peer=$S1_ADDR "
tap_ok $? "TCP s1 -> $LAB_DNS:53 lands on the DNS port"

before=$(rule_pkts guard proto)
out=$(probe "$S1_NS" udp "$LAB_ADDR_ALLOWED" 9999 q2 2>&1)
after=$(rule_pkts guard proto)
[ "$out" = noreply ] && [ "$after" -ge $((before + 1)) ]
tap_ok $? "UDP s1 -> $LAB_ADDR_ALLOWED:9999 dropped by the \"proto\" rule ($out, $before -> $after)"

before=$after
out=$(probe "$S1_NS" icmp "$LAB_ADDR_ALLOWED" 2 2>&1)
after=$(rule_pkts guard proto)
[ "$out" = "replies 0" ] && [ "$after" -ge $((before + 2)) ]
tap_ok $? "ICMP echo s1 -> $LAB_ADDR_ALLOWED dropped ($out, proto $before -> $after)"

probe "$S1_NS" tcp "$S1_HOST" 7777 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^proxy peer=$S1_ADDR orig=$S1_HOST:7777\$" &&
	! grep -q '^svc ' "$PROXY_LOG"
tap_ok $? "TCP s1 -> lab service $S1_HOST:7777 goes to the proxy, never to the service"

ip -n "$S1_NS" addr add "$SPOOF_ADDR/32" dev eth0
before=$(rule_pkts guard spoof)
out=$(probe "$S1_NS" udp "$LAB_DNS" 53 spoofed "$SPOOF_ADDR" 2>&1)
after=$(rule_pkts guard spoof)
[ "$out" = noreply ] && [ "$after" -ge $((before + 1)) ] && ! grep -q 'data=spoofed' "$PROXY_LOG"
tap_ok $? "DNS from spoofed source $SPOOF_ADDR dropped by the \"spoof\" rule ($out, $before -> $after)"
ip -n "$S1_NS" addr del "$SPOOF_ADDR/32" dev eth0

# IPv6: only link-local, on s1's link only. A permanent neighbour entry so
# the echo requests themselves (not neighbour solicitations) hit the rule.
lab_exec lab sysctl -q -w "net.ipv6.conf.$S1_IF.accept_dad=0" \
	"net.ipv6.conf.$S1_IF.disable_ipv6=0"
lab_exec "$S1_NS" sysctl -q -w net.ipv6.conf.eth0.accept_dad=0 \
	net.ipv6.conf.eth0.router_solicitations=0 net.ipv6.conf.eth0.disable_ipv6=0
host_ll="" host_mac=""
for _ in $(seq 1 30); do
	host_ll=$(ip -n "$LAB_NS" -6 -o addr show dev "$S1_IF" scope link | awk '{ sub(/\/.*/, "", $4); print $4 }')
	[ -n "$host_ll" ] && break
	sleep 0.1
done
host_mac=$(ip -n "$LAB_NS" -o link show dev "$S1_IF" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
if [ -n "$host_ll" ] && [ -n "$host_mac" ]; then
	ip -n "$S1_NS" -6 neigh replace "$host_ll" lladdr "$host_mac" dev eth0 nud permanent
	before=$(rule_pkts guard ipv6)
	out=$(probe "$S1_NS" icmp6 "$host_ll" eth0 3 2>&1)
	after=$(rule_pkts guard ipv6)
	[ "$out" = "replies 0" ] && [ "$after" -ge $((before + 3)) ]
	tap_ok $? "IPv6 echo s1 -> lab's $host_ll dropped by the \"ipv6\" rule, never answered ($out, $before -> $after)"
else
	not_ok "IPv6 echo s1 -> lab link-local dropped (no link-local on $S1_IF)"
fi
lab_exec "$S1_NS" sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1
lab_exec lab sysctl -q -w "net.ipv6.conf.$S1_IF.disable_ipv6=1"

probe "$S1_NS" tcp "$S2_ADDR" 80 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^proxy peer=$S1_ADDR orig=$S2_ADDR:80\$" && ! grep -q '^s2tcp' "$S2_LOG"
tap_ok $? "TCP s1 -> s2 ($S2_ADDR:80) goes to the proxy, never to s2"

out=$(probe "$S1_NS" udp "$S2_ADDR" 9999 to-s2 2>&1)
sleep 0.2
[ "$out" = noreply ] && ! grep -q '^s2udp' "$S2_LOG"
tap_ok $? "UDP s1 -> s2 ($S2_ADDR:9999) dropped, s2 saw nothing ($out)"

probe "$S2_NS" tcp "$LAB_ADDR_OTHER" 443 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^proxy peer=$S2_ADDR orig=$LAB_ADDR_OTHER:443\$"
tap_ok $? "TCP s2 -> $LAB_ADDR_OTHER:443 lands on the proxy port"

s1tx=$(counter_of "$S1_ADDR" tx_packets) s1rx=$(counter_of "$S1_ADDR" rx_packets)
s2tx=$(counter_of "$S2_ADDR" tx_packets) s2rx=$(counter_of "$S2_ADDR" rx_packets)
[ "${s1tx:-0}" -ge 10 ] && [ "${s1rx:-0}" -ge 5 ] && [ "${s2tx:-0}" -ge 3 ] && [ "${s2rx:-0}" -ge 2 ]
tap_ok $? "per-session counters: s1 tx $s1tx rx $s1rx, s2 tx $s2tx rx $s2rx packets"

# The socket is opened in lab while the tool runs in s2, whose own nft has
# no such table: the counters can only have come from lab.
out=$(ip netns exec "$S2_NS" "$RULES_TOOL" counters --netns "/run/netns/$LAB_NS" --addr "$S2_ADDR" 2>&1)
[ "$out" = "$(tool counters --addr "$S2_ADDR")" ] && [ -n "$out" ]
tap_ok $? "nft_open with a netns fd reads lab's table from inside s2 ($out)"

# --- 3. root inside the session changes nothing --------------------------------
lab_exec lab nft list table inet enclave | normalise >"$LAB_DIR/before-flush.nft"
ip netns exec "$S1_NS" nft flush ruleset
ip netns exec "$S1_NS" nft -f - <<'EOF'
table inet sandbox_root {
	chain out { type filter hook output priority -500; policy accept; accept; }
	chain in { type filter hook input priority -500; policy accept; accept; }
}
EOF
before=$(rule_pkts guard proto)
out=$(probe "$S1_NS" udp "$LAB_ADDR_ALLOWED" 9999 after-flush 2>&1)
after=$(rule_pkts guard proto)
probe "$S1_NS" tcp "$LAB_ADDR_EXFIL" 80 >/dev/null 2>&1
lab_exec lab nft list table inet enclave | normalise >"$LAB_DIR/after-flush.nft"
[ "$out" = noreply ] && [ "$after" -ge $((before + 1)) ] &&
	wait_for "$PROXY_LOG" "^proxy peer=$S1_ADDR orig=$LAB_ADDR_EXFIL:80\$" &&
	diff -q "$LAB_DIR/before-flush.nft" "$LAB_DIR/after-flush.nft" >/dev/null
tap_ok $? "root in s1 flushing its ruleset and accepting all changes nothing"

# --- 4. nothing reached inet, nothing was forwarded ---------------------------
n=$(lab_exec inet nft list chain inet labcount pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
[ "$n" = 0 ] && ! grep -q "from 198\.19\." "$LAB_DNSMASQ_LOG"
tap_ok $? "inet saw ${n:-?} packets from $LAB_SESSION_NET and dnsmasq no query from a session"
n=$(rule_pkts filter_forward forward)
[ "$n" = 0 ]
tap_ok $? "nothing even reached the forward hook ($n) with ip_forward=1"
n=$(rule_pkts filter_input input)
[ "$n" = 0 ]
tap_ok $? "filter_input dropped nothing the guard let through ($n)"
lab_exec lab sysctl -q -w net.ipv4.ip_forward=0

# --- 5. teardown of one session, reconcile, teardown of all -------------------
tap_check "delete s1: one batch of s1's elements" \
	tool del "${cfg[@]}" --if "$S1_IF" --mark 1 --addr "$S1_ADDR"
set_has() { lab_exec lab nft list ruleset | grep -qF -- "$1"; }
! set_has "\"$S1_IF\"" && ! set_has "$S1_ADDR " && set_has "\"$S2_IF\"" && set_has "$S2_ADDR "
tap_ok $? "s1's elements are gone, s2's are there"
probe "$S2_NS" tcp "$LAB_ADDR_API" 443 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^proxy peer=$S2_ADDR orig=$LAB_ADDR_API:443\$"
tap_ok $? "s2 is still redirected after s1's teardown"

tool add "${cfg[@]}" --if "$DEAD_IF" --mark 99 --addr "$DEAD_ADDR" >/dev/null
s2before=$(counter_of "$S2_ADDR" tx_packets)
out=$(tool reconcile "${cfg[@]}" --live "$S2_IF,2,$S2_ADDR" 2>&1)
s2after=$(counter_of "$S2_ADDR" tx_packets)
[ "$out" = "replaced=0 added=0 deleted=5" ] && ! set_has "\"$DEAD_IF\"" &&
	! set_has "$DEAD_ADDR" && [ "${s2before:-0}" -gt 0 ] && [ "${s2after:-0}" -ge "$s2before" ]
tap_ok $? "reconcile removes a dead session's elements and keeps s2's counters ($out; tx $s2before -> $s2after)"

h=$(lab_exec lab nft -a list chain inet enclave guard | awk '/prefix "spoof"/ { print $NF }')
lab_exec lab nft delete rule inet enclave guard handle "$h"
out=$(tool reconcile "${cfg[@]}" --live "$S2_IF,2,$S2_ADDR" 2>&1)
[[ "$out" == "replaced=1 "* ]] && structure_matches "${cfg[@]}" >/dev/null && set_has "\"$S2_IF\""
tap_ok $? "reconcile replaces a tampered table atomically, live session included (${out%% diff:*})"
probe "$S2_NS" tcp "$LAB_ADDR_ALLOWED" 443 >/dev/null 2>&1
wait_for "$PROXY_LOG" "^proxy peer=$S2_ADDR orig=$LAB_ADDR_ALLOWED:443\$"
tap_ok $? "s2 is redirected after the replace"

tool del "${cfg[@]}" --if "$S2_IF" --mark 2 --addr "$S2_ADDR" &&
	! lab_exec lab nft list ruleset | grep -q 'elements =' &&
	structure_matches "${cfg[@]}" >/dev/null
tap_ok $? "after deleting every session the sets are empty and the chains intact"

! out=$(tool del "${cfg[@]}" --if "$S2_IF" --mark 2 --addr "$S2_ADDR" 2>&1) &&
	[[ "$out" == *"delete elements session_ifaces: No such file or directory"* ]]
tap_ok $? "deleting a session that is not there fails and says which object"

tool init "${cfg[@]}" --ipv6 && structure_matches "${cfg[@]}" --ipv6 >/dev/null &&
	tool add "${cfg[@]}" --ipv6 --if "$S1_IF" --mark 1 --addr "$S1_ADDR" --addr6 fd00:198:19::1 &&
	tool del "${cfg[@]}" --ipv6 --if "$S1_IF" --mark 1 --addr "$S1_ADDR" --addr6 fd00:198:19::1
tap_ok $? "the IPv6 variant loads, has the structure we build, takes and drops a v6 session"

tool reconcile "${cfg[@]}" >/dev/null && structure_matches "${cfg[@]}" >/dev/null
tap_ok $? "reconcile with the IPv4 config replaces the IPv6 table"

tap_done
