#!/bin/bash
# tests/lab/dnsfaults.sh - TAP: what a session's egress depends on, failing
# under a whole appliance (`enclavectl lab up`): proxyd and the upstream DNS.
#
# 1. proxyd killed (SIGKILL) and hung (SIGSTOP) under a running session:
#    nothing reaches the fake internet meanwhile, the session's new
#    connections fail within their own timeouts, health says 503, new
#    sessions are refused with a clear error, and once proxyd is back
#    (restarted, or SIGCONT) the same session is served again.
# 2. The upstream DNS (the lab's dnsmasq) down, slow, or lying: bounded
#    SERVFAIL, denials audited with their reason, never a connection to a
#    lie, proxyd alive; normal service once dnsmasq is back.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

appliance_init sessiond/enclave-sessiond
tap_plan 41

NAME=d$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-dnsfaults-test.XXXXXX)
chmod 0755 "$T"
PROBE_TABLE=faultprobe
cleanup() {
	# A hung proxyd must be able to die with the lab.
	[ -n "${D:-}" ] && [ -r "$D/proxyd.pid" ] && kill -CONT "$(cat "$D/proxyd.pid")" 2>/dev/null
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

appliance_up "$NAME"
LNS=${NAME}lab
INS=${NAME}inet
is "lab up: health 200 with proxyd connected" "200 True" \
	"$(api GET /v1/health) $(js 'd["proxyd"]')"

# restart_px: proxyd again through the lab's own spawn and pid file.
restart_px() { "$LABSCRIPT" restart "$NAME" proxyd >>"$T/restart.log" 2>&1; }
# --- 1. proxyd killed and hung under a running session ---------------------
# A probe table of the test's own in inet: every TCP packet from the lab
# link towards a web port, and anything with a session's source address.
ip netns exec "$INS" nft -f - <<EOF
table inet $PROBE_TABLE {
	chain in {
		type filter hook prerouting priority -300; policy accept;
		iifname "${NAME}-inet" tcp dport { 80, 443 } counter
		ip saddr 198.19.0.0/16 counter
	}
}
EOF
counters() {
	ip netns exec "$INS" nft list chain inet "$PROBE_TABLE" in |
		grep -oE 'packets [0-9]+' | awk '{ printf "%s ", $2 }'
}
# The long session: one HTTPS fetch every ~0.3 s, each bounded by curl's
# own 2 s, "N CODE START_MS END_MS" per line; it ends itself after 400
# tries (or is deleted). The sandbox shares the host's clock.
LOOP='i=0; while [ $i -lt 400 ]; do i=$((i+1)); t=$(date +%s%3N); c=$(curl -sk -o /dev/null -w "%{http_code}" --max-time 2 https://allowed.test/); echo "$i $c $t $(date +%s%3N)"; sleep 0.3; done'

# loop_out: what the loop printed so far; loop_lines: how many tries.
loop_out() { api GET "/v1/sessions/$LID" >/dev/null; js 'd["stdout"]' | grep .; }
loop_lines() { loop_out | grep -cE '^[0-9]+ '; }
# wait_code CODE [SECS]: until the loop's last line has CODE.
wait_code() {
	local end=$((SECONDS + ${2:-20}))
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(loop_out | tail -1 | awk '{ print $2 }')" = "$1" ] && return 0
		sleep 0.3
	done
	return 1
}

proxyd_down() { # SIGNAL LABEL
	local sig=$1 what=$2 ppid n0 acc0 dns0 c0 t0 kms h fails ok
	ppid=$(cat "$D/proxyd.pid")
	wait_code 200 20 || tap_diag "$what: the loop was not being served before: $(loop_out | tail -3) [$(js "d[\"phase\"]") $LID]"
	t0=$SECONDS
	kill "-$sig" "$ppid"
	# At once, before sessiond can know: a hung proxyd takes the add into
	# its socket and answers nothing; the add's timeout bounds the wait.
	run sh 'echo should-not-run'
	is "$what: a session posted at once is refused at the proxy step, never runs, within 10 s" \
		"error 1  yes" \
		"$(js 'd["phase"]' "$T/last") $(js 'int(d["error"].startswith("proxy:"))' "$T/last") $(js 'd["stdout"]' "$T/last") $([ $((SECONDS - t0)) -le 10 ] && echo yes || echo "no: $((SECONDS - t0)) s")"
	# Health: 503 within the ping interval plus its timeout.
	h=""
	while [ $((SECONDS - t0)) -lt 15 ]; do
		h="$(api GET /v1/health) $(js 'd["proxyd"]')"
		[ "$h" = "503 False" ] && break
		sleep 0.2
	done
	is "$what: health says 503, proxyd false (after $((SECONDS - t0)) s)" "503 False" "$h"
	# From here on proxyd is down for sure, and what was in flight when
	# it went (a fetch's closing packets, nginx's line for it) is over.
	sleep 0.5
	n0=$(loop_lines)
	acc0=$(wc -l <"$LAB_ACCESS_LOG_F")
	dns0=$(grep -c 'query\[' "$LAB_DNSMASQ_LOG_F")
	c0=$(counters)
	kms=$(date +%s%3N)
	run sh 'echo should-not-run'
	is "$what: then a new session is refused: proxyd is not connected" "error proxy: proxyd is not connected " \
		"$(js 'd["phase"]' "$T/last") $(js 'd["error"]' "$T/last") $(js 'd["stdout"]' "$T/last")"
	# Let the running session try a few times meanwhile.
	for _ in $(seq 40); do [ "$(loop_lines)" -ge $((n0 + 6)) ] && break; sleep 0.3; done
	# Fetches started since: none succeeds, none outlives
	# curl's 2 s by more than scheduling noise.
	loop_out | awk -v k="$kms" '$3 > k' >"$T/tries"
	fails=$(awk '$2 != "200" && $4 - $3 <= 3000' "$T/tries" | wc -l)
	ok=$(awk '$2 == "200"' "$T/tries" | wc -l)
	is "$what: the running session's new fetches all fail, each within its bound" "0 yes" \
		"$ok $([ "$fails" -ge 4 ] && [ "$fails" = "$(wc -l <"$T/tries")" ] && echo yes || echo "no: $(paste -sd, "$T/tries")")"
	is "$what: nothing reached the fake internet meanwhile (access log, DNS log, inet counters)" \
		"0 0 $c0" \
		"$(($(wc -l <"$LAB_ACCESS_LOG_F") - acc0)) $(($(grep -c 'query\[' "$LAB_DNSMASQ_LOG_F") - dns0)) $(counters)"
	tap_check "$what: the lab's sessiond is still up" _lab_alive "$(cat "$D/sessiond.pid")"
}

LAB_ACCESS_LOG_F=$D/access.log
LAB_DNSMASQ_LOG_F=$D/dnsmasq.log
body sh "$LOOP" '{"timeout_ms": 300000}' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
LID=$(js 'd["id"]')

proxyd_down KILL "proxyd SIGKILL"
restart_px || tap_diag "proxyd restart failed: $(tail -3 "$T/restart.log")"
wait_code 200 20
is "proxyd SIGKILL: restarted, the same session is served again (policy re-pushed)" "200 running" \
	"$(loop_out | tail -1 | awk '{ print $2 }') $(js 'd["phase"]')"
for _ in $(seq 50); do [ "$(api GET /v1/health)" = 200 ] && break; sleep 0.1; done
run sh 'curl -s -o /dev/null -w "%{http_code}" http://allowed.test/'
is "proxyd SIGKILL: health 200 again and new sessions run" "200 succeeded 200" \
	"$(api GET /v1/health) $(js 'd["phase"]' "$T/last") $(js 'd["stdout"]' "$T/last")"

proxyd_down STOP "proxyd SIGSTOP"
kill -CONT "$(cat "$D/proxyd.pid")"
wait_code 200 20
is "proxyd SIGSTOP: after SIGCONT the same session is served again" "200 running" \
	"$(loop_out | tail -1 | awk '{ print $2 }') $(js 'd["phase"]')"
for _ in $(seq 100); do [ "$(api GET /v1/health)" = 200 ] && break; sleep 0.1; done
run sh 'curl -s -o /dev/null -w "%{http_code}" http://allowed.test/'
is "proxyd SIGSTOP: health 200 again and new sessions run" "200 succeeded 200" \
	"$(api GET /v1/health) $(js 'd["phase"]' "$T/last") $(js 'd["stdout"]' "$T/last")"
# The add that timed out was applied once proxyd woke up; sessiond removed
# it on reconnecting, or the address would still be taken there.
is "proxyd SIGSTOP: the late-applied add of the refused session was removed on reconnect" 1 \
	"$(grep -c "removed from proxyd, where it outlived its end" "$D/sessiond.log")"

api DELETE "/v1/sessions/$LID" >/dev/null
ip netns exec "$INS" nft delete table inet "$PROBE_TABLE"
# --- 2. the upstream DNS down, slow, or lying ------------------------------
# The session side: for each NAME (in threads, so slow ones overlap), one
# UDP A query to the session's resolver, then an HTTPS fetch of NAME sent
# to the address the lookup gave, or allowed.test's when it gave none
# (curl --resolve), which proxyd judges by the SNI and resolves itself. One JSON line per name:
# {"name", "rcode", "addrs", "dns_ms", "code", "curl_ms"}.
cat >"$T/probe.py" <<'EOF'
import json, random, socket, struct, subprocess, sys, threading, time
NAMES = sys.argv[1].split(",")
ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
RC = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
out = {}
def query(name):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(20)
    t = time.time()
    s.sendto(q, (ns, 53))
    try:
        while True:
            r = s.recv(4096)
            if struct.unpack("!H", r[:2])[0] == qid:
                break
    except socket.timeout:
        return "TIMEOUT", [], int((time.time() - t) * 1000)
    ms = int((time.time() - t) * 1000)
    flags, qd, an = struct.unpack("!HHH", r[2:8])
    off = 12
    def skip(o):
        while True:
            n = r[o]
            if n & 0xC0 == 0xC0:
                return o + 2
            o += 1
            if n == 0:
                return o
            o += n
    for _ in range(qd):
        off = skip(off) + 4
    addrs = []
    for _ in range(an):
        off = skip(off)
        typ, _c, _ttl, rdlen = struct.unpack("!HHIH", r[off:off + 10])
        off += 10
        if typ == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(r[off:off + 4]))
        off += rdlen
    return RC.get(flags & 0xF, str(flags & 0xF)), addrs, ms
def probe(name):
    rc, addrs, ms = query(name)
    t = time.time()
    c = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
        "--max-time", "15", "--resolve",
        name + ":443:" + (addrs[0] if addrs else "198.18.1.10"),
        "https://" + name + "/"], capture_output=True, text=True).stdout
    out[name] = {"name": name, "rcode": rc, "addrs": addrs, "dns_ms": ms,
        "code": c, "curl_ms": int((time.time() - t) * 1000)}
th = [threading.Thread(target=probe, args=(n,)) for n in NAMES]
for x in th: x.start()
for x in th: x.join()
for n in NAMES:
    print(json.dumps(out[n]))
EOF
# probe NAME,NAME...: run probe.py in a session allowed those names; the
# session in $T/last, one JSON line per name in $T/probe.
probe() {
	python3 -c 'import json,sys
code = "import sys\nsys.argv = [\"probe\", %s]\n" % json.dumps(sys.argv[2]) + open(sys.argv[1]).read()
print(json.dumps({"language": "python", "code": code,
    "egress": {"allow": sys.argv[2].split(",")}, "wait": True,
    "limits": {"timeout_ms": 90000}}))' "$T/probe.py" "$1" >"$T/req"
	api POST /v1/sessions "$T/req" >"$T/status"
	cp "$T/body" "$T/last"
	js 'd["stdout"]' "$T/last" | grep '^{' >"$T/probe"
	PID_=$(js 'd["id"]' "$T/last")
	api GET "/v1/sessions/$PID_/audit" >/dev/null
	cp "$T/body" "$T/audit"
}
# pr NAME EXPR: EXPR over the probe line of NAME (p) .
pr() {
	python3 -c 'import json,sys
p=[json.loads(l) for l in open(sys.argv[3]) if json.loads(l)["name"]==sys.argv[1]]
p=p[0] if p else {"name": sys.argv[1], "rcode": "missing", "addrs": [], "dns_ms": -1, "code": "", "curl_ms": -1}
print(eval(sys.argv[2]))' "$1" "$2" "$T/probe"
}
# au EXPR: EXPR over the last probe session's audit events (ev).
au() { python3 -c 'import json,sys; ev=json.load(open(sys.argv[2]))["events"]; print(eval(sys.argv[1]))' "$1" "$T/audit"; }
px_alive() { _lab_alive "$(cat "$D/proxyd.pid")" && echo alive || echo dead; }

DNSMASQ_PID=$(_lab_pidfile_pid "$D/dnsmasq.pid")
kill -TERM "$DNSMASQ_PID"
_lab_wait_dead 200 "$DNSMASQ_PID"
# Down: nothing listens on 198.18.0.2:53 (the kernel says port
# unreachable). other.test: a name proxyd has not cached.
probe other.test
is "DNS down: the session's lookup gets SERVFAIL within 10 s" "SERVFAIL yes" \
	"$(pr other.test 'p["rcode"]') $(pr other.test '"yes" if 0 <= p["dns_ms"] <= 10000 else p["dns_ms"]')"
is "DNS down: the fetch fails and is audited egress_denied resolve_failed" "000 resolve_failed" \
	"$(pr other.test 'p["code"]') $(au '",".join(sorted(set(e["data"]["reason"] for e in ev if e["type"]=="egress_denied" and e["data"].get("host")=="other.test")))')"
is "DNS down: the session succeeded, proxyd is alive" "succeeded alive" "$(js 'd["phase"]' "$T/last") $(px_alive)"

# A fake upstream in inet on dnsmasq's address: per name, a lie, garbage,
# or a slow answer; every query it gets is logged.
LIES="meta=169.254.169.254 private=10.0.0.5 loop=127.0.0.1 zero=0.0.0.0 session=198.19.0.1"
# The lie "session" is another session's address: a victim holds it (the
# pool's first pair) while the probe runs at the next one.
body sh 'sleep 120' '{"timeout_ms": 150000}' '{"wait": false}'
api POST /v1/sessions "$T/req" >/dev/null
VICTIM=$(js 'd["id"]')
cat >"$T/fakedns.py" <<'EOF'
import random, socket, struct, sys, threading, time
LIES = dict(kv.split("=") for kv in sys.argv[2].split())
log = open(sys.argv[1], "a", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 53))
def rr(addr):
    return struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
def answer(q, src):
    qid, flags = struct.unpack("!HH", q[:4])
    end = q.index(b"\0", 12) + 5
    question = q[12:end]
    labels, o = [], 12
    while q[o]:
        labels.append(q[o + 1:o + 1 + q[o]].decode()); o += 1 + q[o]
    name = ".".join(labels)
    qtype = struct.unpack("!H", q[end - 4:end - 2])[0]
    log.write("%s %d\n" % (name, qtype))
    kind = labels[0].split("-", 1)[1] if "-" in labels[0] else ""
    def hdr(an, fl=0x8180, i=qid):
        return struct.pack("!HHHHHH", i, fl, 1, an, 0, 0) + question
    if qtype != 1:
        r = hdr(0)
    elif kind in LIES:
        r = hdr(1) + rr(LIES[kind])
    elif kind == "huge":
        r = hdr(250) + rr("169.254.169.254") * 250
    elif kind == "garbage":
        r = q[:2] + bytes(random.randrange(256) for _ in range(300))
    elif kind == "cut":
        r = (hdr(3) + rr("198.18.1.10") * 3)[:len(hdr(0)) + 7]
    elif kind == "tc":
        r = hdr(0, 0x8380)
    elif kind == "badid":
        r = hdr(1, i=(qid + 1) & 0xFFFF) + rr("198.18.1.10")
    elif kind == "slow":
        time.sleep(6)
        r = hdr(1) + rr("198.18.1.10")
    else:
        r = hdr(1) + rr("198.18.1.10")
    s.sendto(r, src)
while True:
    q, src = s.recvfrom(4096)
    threading.Thread(target=answer, args=(q, src), daemon=True).start()
EOF
ip netns exec "$INS" python3 "$T/fakedns.py" "$T/fakedns.log" "$LIES" >"$T/fakedns.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do [ -e "$T/fakedns.log" ] && ip netns exec "$INS" ss -lun | grep -q '198.18.0.2:53 ' && break; sleep 0.1; done
NAMES=""
for kv in $LIES; do NAMES="$NAMES,lie-${kv%%=*}.test"; done
NAMES="${NAMES#,},lie-huge.test,lie-garbage.test,lie-cut.test,lie-tc.test,lie-badid.test"
probe "$NAMES"
is "fake upstream: the probe session ran every name" "succeeded $(echo "$NAMES" | tr ',' '\n' | wc -l)" \
	"$(js 'd["phase"]' "$T/last") $(wc -l <"$T/probe")"
tap_check "fake upstream: proxyd asked it (its log has lie-meta.test)" grep -q '^lie-meta.test 1$' "$T/fakedns.log"
for kv in ${LIES% session=*}; do
	n=lie-${kv%%=*}.test a=${kv#*=}
	is "lying DNS $n -> $a: refused (resolves_to_blocked) or SERVFAIL, the fetch fails" "yes 000" \
		"$(pr "$n" '"yes" if p["rcode"] in ("REFUSED", "SERVFAIL") and not p["addrs"] else p') $(pr "$n" 'p["code"]')"
done
# The lab exempts only 198.18.0.0/16, so the session pool stays blocked:
# a lie aimed at another session is refused, never connected to.
is "lying DNS lie-session.test -> 198.19.0.1 (another session): refused or SERVFAIL, never connected" \
	"yes " \
	"$(pr lie-session.test '"yes" if p["rcode"] in ("REFUSED", "SERVFAIL") and not p["addrs"] else p') $(au '" ".join(e["data"]["connected"] for e in ev if e["type"]=="egress_allowed" and e["data"].get("connected","").startswith("198.19."))')"
for n in lie-huge lie-garbage lie-cut lie-tc lie-badid; do
	is "$n.test: no address from the lie, answered within 10 s, the fetch fails within 15 s" "yes" \
		"$(pr "$n.test" '"yes" if p["rcode"] in ("REFUSED", "SERVFAIL", "NXDOMAIN") and not p["addrs"] and 0 <= p["dns_ms"] <= 10000 and p["code"] != "200" and p["curl_ms"] <= 16000 else p')"
done
is "the lies are audited as denials with resolves_to_blocked" "resolves_to_blocked" \
	"$(au '",".join(sorted(set(e["data"]["reason"] for e in ev if e["type"]=="egress_denied" and e["data"].get("host","").split(".")[0] in ("lie-meta","lie-private","lie-loop","lie-zero") and e["data"]["reason"]!="resolve_failed")))')"
is "no connection to any other lie: every egress_allowed connected to 198.18.1.x" "" \
	"$(au '" ".join("%s:%s" % (e["data"]["host"], e["data"].get("connected")) for e in ev if e["type"]=="egress_allowed" and e["data"].get("connected") and not e["data"]["connected"].startswith("198.18.1.") and e["data"]["host"] != "lie-session.test")')"
is "proxyd survived the lies" alive "$(px_alive)"

# Slow but honest (6 s), and beside it a name answered at once: a slow
# upstream delays only its own lookups. (Apart from the lies: a malformed
# answer may fail lookups in flight beside it, see the report.)
probe lie-slow.test,lie-fine.test
# Slow but honest: its true answer or SERVFAIL, bounded either way.
is "lie-slow.test (6 s late): 198.18.1.10 or SERVFAIL within 10 s, the fetch done within 16 s" "yes" \
	"$(pr lie-slow.test '"yes" if (p["addrs"] == ["198.18.1.10"] or p["rcode"] == "SERVFAIL" and not p["addrs"]) and 0 <= p["dns_ms"] <= 10000 and p["curl_ms"] <= 16000 else p')"
is "a good name asked beside the slow one answers at once and its fetch works" "NOERROR 198.18.1.10 200 yes" \
	"$(pr lie-fine.test 'p["rcode"]') $(pr lie-fine.test '" ".join(p["addrs"])') $(pr lie-fine.test 'p["code"]') $(pr lie-fine.test '"yes" if p["dns_ms"] < 3000 else p["dns_ms"]')"
is "proxyd survived the slow upstream" alive "$(px_alive)"

api DELETE "/v1/sessions/$VICTIM" >/dev/null
kill -TERM "$FAKE_PID" 2>/dev/null
_lab_wait_dead 100 "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
# dnsmasq again, the lab's own way (lib.sh's _lab_dnsmasq, its pid file).
LAB_DIR=$D INET_NS=$INS LAB_PREFIX=$NAME _lab_dnsmasq >"$T/dnsmasq.err" 2>&1 ||
	tap_diag "dnsmasq restart: $(cat "$T/dnsmasq.err")"
probe api.allowed.test
is "dnsmasq back: lookups and fetches work again" "NOERROR 198.18.1.12 200" \
	"$(pr api.allowed.test 'p["rcode"]') $(pr api.allowed.test '" ".join(p["addrs"])') $(pr api.allowed.test 'p["code"]')"

tap_check "audit verify after everything" "$CTL" audit verify "$D/audit.log"
tap_done
