#!/bin/bash
# tests/lab/hostile.sh - TAP: the hostile workload corpus (issue 9). Every
# file in tests/lab/hostile/ is one attempt to get out of a session: it
# runs through the real sessiond API on the namespace backend, and the
# files marked "# backends: all" again on every other available backend.
# For each run: the attempt failed the way the file says (phase, stdout,
# no line starting with LEAK), the session's audit holds exactly the
# egress events the file lists, and nothing reached the fake internet
# (inet): its nginx access log, its dnsmasq query log and an nft counter
# table of our own on inet's link see only what the file allows.
#
# The corpus format (header comment lines at the top of each file):
#   # what: one line                       required, the TAP description
#   # expect-denied: HOST PORT PROTO REASON one per egress_denied (PORT may be -)
#   # expect-allowed: HOST PROTO            egress_allowed events that must appear
#   # expect-phase: succeeded               the default
#   # expect-stdout: REGEX                  Python re.search on stdout
#   # limits: {"timeout_ms": 20000}         JSON
#   # egress: allowed.test api.allowed.test the allow list (default allowed.test)
#   # backends: all                         also run on every other backend
#   # inet: allow HOST...                   hosts inet may see (default none)
#   # include: NAME...                      prepend include/NAME.py (or .sh):
#                                           helpers many workloads share
# @LAB_DIR@, @SESSIOND_SOCK@ and @PROXYD_SOCK@ in the code become the lab's
# real paths, so workloads can try to reach them.
#
# proxyd folds identical denials (same host, port, proto, reason) that
# come within 2 s into one event, and writes their count later, possibly
# after the session ended: how many events one tuple yields is timing, not
# policy. So the denied tuples are compared as a set (repeated
# expect-denied lines say the same thing once); the allowed ones too.
#
# HOSTILE_ONLY=GLOB runs only the matching files (by name); HOSTILE_BACKENDS
# ="a b" limits the other backends tried; HOSTILE_DIR runs another corpus.
# They change the plan, not a verdict.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

appliance_init
CORPUS=${HOSTILE_DIR:-$top_src/tests/lab/hostile}

NAME=h$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-hostile-test.XXXXXX)
cleanup() {
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- the corpus: parsing, requests and verdicts (one helper) -----------
cat >"$T/corpus.py" <<'EOF'
import json, os, re, sys

KEYS = {"what", "expect-denied", "expect-allowed", "expect-phase",
        "expect-stdout", "limits", "egress", "backends", "inet", "include"}

def header(path):
    h = {"expect-denied": [], "expect-allowed": []}
    for line in open(path, encoding="utf-8"):
        if line.startswith("#!"):
            continue
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*([a-z-]+):\s?(.*?)\s*$", line)
        if not m or m.group(1) not in KEYS:
            continue
        k, v = m.group(1), m.group(2)
        if k in ("expect-denied", "expect-allowed"):
            h[k].append(v.split())
        else:
            h[k] = v
    return h

def lang(path):
    return "python" if path.endswith(".py") else "sh"

def problems(h, path):
    bad = []
    if path.endswith(".py"):
        for i, l in enumerate(open(path, encoding="utf-8").readlines()[:2]):
            if re.match(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", l):
                bad.append("line %d is a coding declaration to Python (PEP 263)" % (i + 1))
    if not h.get("what"):
        bad.append("no '# what:' line")
    for f in h["expect-denied"]:
        if len(f) != 4 or not (f[1] == "-" or f[1].isdigit()):
            bad.append("bad expect-denied: %s" % " ".join(f))
    for f in h["expect-allowed"]:
        if len(f) != 2:
            bad.append("bad expect-allowed: %s" % " ".join(f))
    try:
        json.loads(h.get("limits") or "{}")
    except ValueError:
        bad.append("limits is not JSON")
    inet = (h.get("inet") or "").split()
    if inet and inet[0] != "allow":
        bad.append("inet: must be 'allow HOST...'")
    for name in includes(h, path):
        if not os.path.isfile(name):
            bad.append("no such include: %s" % name)
    return bad

def includes(h, path):
    """The files "# include: NAME..." names: include/NAME.py (or .sh)
    beside the workload, prepended to its code in that order."""
    ext = os.path.splitext(path)[1]
    return [os.path.join(os.path.dirname(path), "include", n + ext)
            for n in (h.get("include") or "").split()]

def cmd_req(path, backend, labdir, ssock, psock, out):
    h = header(path)
    code = "".join(open(n, encoding="utf-8").read() for n in includes(h, path))
    code += open(path, encoding="utf-8").read()
    for k, v in (("@LAB_DIR@", labdir), ("@SESSIOND_SOCK@", ssock),
                 ("@PROXYD_SOCK@", psock)):
        code = code.replace(k, v)
    limits = {"timeout_ms": 30000}
    limits.update(json.loads(h.get("limits") or "{}"))
    allow = (h.get("egress") or "allowed.test").split()
    json.dump({"language": lang(path), "code": code, "backend": backend,
               "egress": {"allow": allow}, "limits": limits, "wait": True},
              open(out, "w"))

def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return {}

def show_events(a):
    out = []
    for e in a.get("events", []):
        d = e.get("data") or {}
        if e.get("type", "").startswith("egress"):
            out.append("%s %s" % (e["type"], json.dumps(d, sort_keys=True)))
        else:
            out.append(e.get("type", "?"))
    return out

def cmd_judge(path, status, sess, audit, inet, label):
    """Three verdict lines "0|1<TAB>description", each followed by
    diagnostics lines starting with '#'."""
    h = header(path)
    s, a = load(sess), load(audit)
    what = h.get("what") or os.path.basename(path)
    stdout = s.get("stdout") or ""
    diag_session = ["POST status %s, phase %s, exit %s" % (status, s.get("phase"),
                    s.get("exit_code")), "stdout:"] + stdout.splitlines()[-40:] + \
        ["stderr:"] + (s.get("stderr") or "").splitlines()[-15:] + \
        ["audit:"] + show_events(a)

    # 1. the attempt failed the way the file says
    why = ["header: " + b for b in problems(h, path)]
    want_phase = (h.get("expect-phase") or "succeeded").strip()
    if status != "201":
        why.append("POST answered %s" % status)
    if s.get("phase") != want_phase:
        why.append("phase %s, want %s" % (s.get("phase"), want_phase))
    rx = h.get("expect-stdout")
    if rx and not re.search(rx, stdout):
        why.append("stdout does not match %r" % rx)
    leaks = [l for l in stdout.splitlines() if l.startswith("LEAK")]
    if leaks:
        why.append("the workload reports a leak: %s" % leaks[0][:200])
    verdict(not why, "%s: %s" % (label, what), why + diag_session)

    # 2. exactly the egress events the file lists
    why = []
    evs = a.get("events")
    if not isinstance(evs, list):
        why.append("no audit")
        evs = []
    got_d, got_a = set(), set()
    for e in evs:
        d = e.get("data") or {}
        if e.get("type") == "egress_denied":
            port = d.get("port")
            got_d.add((str(d.get("host")), "-" if port in (None, 0) else str(port),
                       str(d.get("proto")), str(d.get("reason"))))
        elif e.get("type") == "egress_allowed":
            got_a.add((str(d.get("host")), str(d.get("proto"))))
    want_d = {tuple(f) for f in h["expect-denied"]}
    want_a = {tuple(f) for f in h["expect-allowed"]}
    for t in sorted(want_d - got_d):
        why.append("missing egress_denied %s" % " ".join(t))
    for t in sorted(got_d - want_d):
        why.append("unexpected egress_denied %s" % " ".join(t))
    for t in sorted(want_a - got_a):
        why.append("missing egress_allowed %s" % " ".join(t))
    for t in sorted(got_a - want_a):
        why.append("unexpected egress_allowed %s" % " ".join(t))
    types = [e.get("type") for e in evs]
    for t in ("session_created", "sandbox_started", "workload_exited"):
        if t not in types:
            why.append("no %s event" % t)
    verdict(not why, "%s: %s: audit has exactly the egress events listed" %
            (label, os.path.basename(path)), why + ["audit:"] + show_events(a))

    # 3. nothing reached inet but what the file allows
    why = []
    allow = set((h.get("inet") or "allow").split()[1:])
    # COUNTER NAME ADDRESS, one line per server in inet
    servers = {}
    for l in open(os.path.join(inet, "names")):
        if l.strip():
            cn, name, addr = l.split()
            servers[cn] = (name, addr)
    allowed_addrs = {addr for name, addr in servers.values() if name in allow}
    def counters(p):
        c = {}
        for o in load(p).get("nftables", []):
            if "counter" in o:
                c[o["counter"]["name"]] = o["counter"].get("packets", 0)
        return c
    before = counters(os.path.join(inet, "before.json"))
    after = counters(os.path.join(inet, "after.json"))
    if not after:
        why.append("no counters from inet's hostile_watch table")
    for cn, v in sorted(after.items()):
        delta = v - before.get(cn, 0)
        # proxyd resolves the hosts it may reach: DNS then is no leak,
        # the query log below says which names it asked for.
        if delta == 0 or (cn == "c_dns" and allow) or \
                (cn in servers and servers[cn][0] in allow):
            continue
        what = "%s (%s) port 80/443" % servers[cn] if cn in servers else \
            "DNS" if cn == "c_dns" else "anything else"
        why.append("%d new flow(s) reached inet: %s" % (delta, what))
    for l in open(os.path.join(inet, "access.new"), errors="replace"):
        f = l.split()
        srv = f[2].rsplit(":", 1)[0] if len(f) > 2 else "?"
        scheme = f[3] if len(f) > 3 else "?"
        hosthdr = f[4] if len(f) > 4 else "?"
        # Plain HTTP's Host is what proxyd judged; inside TLS it is the
        # allowed server's own business, the address is what counts.
        if srv not in allowed_addrs or (scheme != "https" and
                hosthdr not in allow and hosthdr not in allowed_addrs):
            why.append("access log: " + l.strip())
    for l in open(os.path.join(inet, "dns.new"), errors="replace"):
        m = re.search(r"query\[[A-Z0-9]+\] (\S+) from", l)
        if m and m.group(1).lower().rstrip(".") not in allow:
            why.append("dnsmasq: " + l.strip())
    verdict(not why, "%s: %s: nothing reached inet%s" % (label, os.path.basename(path),
            " but " + " ".join(sorted(allow)) if allow else ""), why)

def verdict(good, desc, diag):
    print("%d\t%s" % (0 if good else 1, desc.replace("\n", " ")))
    if not good:
        for l in diag:
            print("#\t" + l)

def cmd_list(*paths):
    """Per file: 1 if it runs on every backend, its path."""
    for p in paths:
        print("%d\t%s" % (int((header(p).get("backends") or "").strip() == "all"), p))

def runs(listing):
    """RUN_DIR, BACKEND, FILE per line of the run list."""
    for l in open(listing):
        if l.strip():
            yield l.rstrip("\n").split("\t")

def cmd_reqs(listing, labdir, ssock, psock):
    for d, b, f in runs(listing):
        cmd_req(f, b, labdir, ssock, psock, os.path.join(d, "req"))

def cmd_judge_all(listing):
    """Each run's three verdicts into RUN_DIR/verdicts; one run's failure
    to be judged does not stop the others."""
    for d, b, f in runs(listing):
        try:
            status = open(os.path.join(d, "status")).read().strip()
        except OSError:
            status = "none"
        with open(os.path.join(d, "verdicts"), "w") as out:
            sys.stdout = out
            try:
                cmd_judge(f, status, os.path.join(d, "session"),
                          os.path.join(d, "audit"), os.path.join(d, "inet"), b)
            except Exception as e:
                print("#\tjudge: %s: %s" % (type(e).__name__, e))
            finally:
                sys.stdout = sys.__stdout__

if __name__ == "__main__":
    c = sys.argv[1]
    {"list": cmd_list, "reqs": cmd_reqs, "judge-all": cmd_judge_all}[c](*sys.argv[2:])
EOF

mapfile -t FILES < <(find "$CORPUS" -maxdepth 1 -type f \( -name '*.py' -o -name '*.sh' \) \
	-name "${HOSTILE_ONLY:-*}" | LC_ALL=C sort)
ALLSET=()
while IFS=$'\t' read -r all f; do
	[ "$all" = 1 ] && ALLSET+=("$f")
done < <([ ${#FILES[@]} -gt 0 ] && python3 "$T/corpus.py" list "${FILES[@]}")

appliance_up "$NAME" --docker
INS=${NAME}inet
LNS=${NAME}lab
IIF=${NAME}-inet

api GET /v1/backends >/dev/null
mapfile -t OTHERS < <(js '"\n".join(b["name"] for b in d["backends"] if b["available"] and b["name"] != "namespace")' | sed '/^$/d')
mapfile -t UNAVAIL < <(js '"\n".join("%s: %s" % (b["name"], b["reason"]) for b in d["backends"] if not b["available"])' | sed '/^$/d')
NS_OK=$(js 'int(any(b["name"] == "namespace" and b["available"] for b in d["backends"]))')
if [ -n "${HOSTILE_BACKENDS+x}" ]; then
	keep=()
	for b in "${OTHERS[@]}"; do
		case " $HOSTILE_BACKENDS " in *" $b "*) keep+=("$b") ;; esac
	done
	OTHERS=("${keep[@]}")
fi

# 1 (lab and watch) + 3 per file on namespace + 3 per "all" file on each
# other backend + one skip per unavailable backend.
tap_plan $((1 + 3 * ${#FILES[@]} + 3 * ${#ALLSET[@]} * ${#OTHERS[@]} + ${#UNAVAIL[@]}))

# --- the watch on inet's link -------------------------------------------
# New flows only (TCP SYNs, every UDP packet, every other protocol), so a
# late FIN of an earlier allowed connection is not taken for a new one.
# One counter per server for its ports 80 and 443, one for DNS to
# dnsmasq, one for everything else.
: >"$T/names"
{
	echo "table inet hostile_watch {"
	i=0
	for sv in $LAB_SERVERS $LAB_SERVICES; do
		echo "	counter c_$i { }"
		printf 'c_%s %s %s\n' "$i" "${sv%%=*}" "${sv#*=}" >>"$T/names"
		i=$((i + 1))
	done
	echo "	counter c_dns { }"
	echo "	counter c_other { }"
	echo "	chain watch {"
	echo "		type filter hook prerouting priority raw - 10; policy accept;"
	echo "		iifname != \"$IIF\" return"
	echo "		meta l4proto tcp tcp flags & (syn | ack) != syn return"
	i=0
	for sv in $LAB_SERVERS $LAB_SERVICES; do
		echo "		ip daddr ${sv#*=} tcp dport { 80, 443 } counter name \"c_$i\" return"
		i=$((i + 1))
	done
	echo "		ip daddr $LAB_DNS meta l4proto { tcp, udp } th dport 53 counter name \"c_dns\" return"
	echo "		counter name \"c_other\""
	echo "	}"
	echo "}"
} >"$T/watch.nft"
if ip netns exec "$INS" nft -f "$T/watch.nft" 2>"$T/watch.err" &&
	[ "$NS_OK" = 1 ]; then
	ok "lab up, namespace backend available, watch table on $IIF"
else
	not_ok "lab up, namespace backend available, watch table on $IIF"
	tap_diag "$(cat "$T/watch.err")"
fi

# --- the runs ----------------------------------------------------------------
# Every run gets a directory; requests are made and verdicts given for all
# of them at once (a Python start costs more than a session here).
n=0
: >"$T/runs"
for f in "${FILES[@]}"; do
	n=$((n + 1)); printf '%s/r%03d\tnamespace\t%s\n' "$T" "$n" "$f" >>"$T/runs"
done
for b in "${OTHERS[@]}"; do
	for f in "${ALLSET[@]}"; do
		n=$((n + 1)); printf '%s/r%03d\t%s\t%s\n' "$T" "$n" "$b" "$f" >>"$T/runs"
	done
done
while IFS=$'\t' read -r w _ _; do mkdir -p "$w/inet" && cp "$T/names" "$w/inet/"; done <"$T/runs"
python3 "$T/corpus.py" reqs "$T/runs" "$D" "$S" "$D/proxyd.sock" 2>"$T/reqs.err" ||
	tap_diag "$(tail -5 "$T/reqs.err")"

snap() { # DIR PHASE: counters and log sizes
	ip netns exec "$INS" nft -j list counters table inet hostile_watch \
		>"$1/$2.json" 2>/dev/null
	stat -c %s "$D/access.log" >"$1/$2.access" 2>/dev/null || echo 0 >"$1/$2.access"
	stat -c %s "$D/dnsmasq.log" >"$1/$2.dns" 2>/dev/null || echo 0 >"$1/$2.dns"
}
# Until proxyd holds no connection to inet's servers, connecting or
# established (nginx logs a request when it ends), at most 5 s.
settle() {
	local i
	for i in $(seq 1 50); do
		[ -z "$(ip netns exec "$LNS" ss -Htn state connected exclude time-wait \
			dst "$LAB_SRV_NET" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
}
run_one() { # RUN_DIR: the session, its audit, what inet saw
	local w=$1 id
	settle
	snap "$w/inet" before
	api POST /v1/sessions "$w/req" >"$w/status"
	cp "$T/body" "$w/session"
	id=$(grep -o '^{"id":"[^"]*"' "$w/session" | sed 's/.*"\([^"]*\)"$/\1/')
	settle
	snap "$w/inet" after
	tail -c +$(($(cat "$w/inet/before.access") + 1)) "$D/access.log" >"$w/inet/access.new"
	tail -c +$(($(cat "$w/inet/before.dns") + 1)) "$D/dnsmasq.log" >"$w/inet/dns.new"
	if [ -n "$id" ]; then
		api GET "/v1/sessions/$id/audit" >/dev/null
		cp "$T/body" "$w/audit"
		api DELETE "/v1/sessions/$id" >/dev/null
	else
		echo '{}' >"$w/audit"
	fi
}
report() { # RUN_DIR: three TAP lines, whatever the judge said
	local n=0 good desc
	if [ -f "$1/verdicts" ]; then
		while IFS=$'\t' read -r good desc; do
			if [ "$good" = "#" ]; then
				tap_diag "$desc"
				continue
			fi
			[ "$n" -lt 3 ] || continue
			n=$((n + 1))
			if [ "$good" = 0 ]; then ok "$desc"; else not_ok "$desc"; fi
		done <"$1/verdicts"
	fi
	while [ "$n" -lt 3 ]; do n=$((n + 1)); not_ok "$(basename "$1"): verdict $n missing"; done
}

while IFS=$'\t' read -r w _ _; do
	run_one "$w" </dev/null
done <"$T/runs"
python3 "$T/corpus.py" judge-all "$T/runs" 2>"$T/judge.err" || tap_diag "$(tail -5 "$T/judge.err")"
while IFS=$'\t' read -r w _ _; do
	report "$w"
done <"$T/runs"
for u in "${UNAVAIL[@]}"; do
	tap_skip "backend ${u%%:*}" "unavailable here: ${u#*: }"
done

tap_done
