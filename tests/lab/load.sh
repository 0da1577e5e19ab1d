#!/bin/bash
# tests/lab/load.sh - TAP: load and soak through a whole appliance
# (`enclavectl lab up`). First, a burst of identical denials from a session
# deleted at once: proxyd's folded count still lands in its audit, before
# usage_metered. Then N sessions at once on the namespace backend, each
# doing allowed and denied egress (HTTP to allowed.test, HTTPS to
# api.allowed.test, a metadata-IP fetch, a lookup of exfil.attacker.example,
# a UDP send), three rounds: every session succeeds with the right
# verdicts, every session's audit holds exactly what its workload did (and
# agrees with proxyd's own event log), the global log verifies with the
# expected total, nothing is left after DELETE, and proxyd's and
# sessiond's fds come back to their baseline exactly while their RSS does
# not grow from one round to the next. Then a soak: a few long sessions
# loop mixed traffic for SOAK_SECONDS while both daemons' RSS and fds are
# sampled; they must stay flat, and every fetch, denial and lookup must be
# audited. Figures (sessions/s, latencies, events/s) are printed as
# "# figure:" lines and written as JSON to $LOAD_REPORT when it is set.
#
# LOAD_SESSIONS (50) sessions per round; SOAK_SECONDS (45) soak length;
# SOAK_SESSIONS (4) soak sessions; LOAD_REPORT (unset) figures file;
# LOAD_KEEP=1 keeps the scratch directory with the lab's logs.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

N=${LOAD_SESSIONS:-50}
SOAK=${SOAK_SECONDS:-45}
SOAK_N=${SOAK_SESSIONS:-4}
case "$N$SOAK$SOAK_N" in
*[!0-9]* | "")
	echo "1..1"; echo "not ok 1 - LOAD_SESSIONS, SOAK_SECONDS, SOAK_SESSIONS are numbers"; exit 1 ;;
esac
# Bounds: sessiond accepts at most 4096 sessions; the soak at most an hour.
if [ "$N" -lt 2 ] || [ "$N" -gt 1000 ] || [ "$SOAK" -lt 10 ] || [ "$SOAK" -gt 3600 ] ||
	[ "$SOAK_N" -lt 1 ] || [ "$SOAK_N" -gt 32 ]; then
	echo "1..1"
	echo "not ok 1 - LOAD_SESSIONS in 2..1000, SOAK_SECONDS in 10..3600, SOAK_SESSIONS in 1..32"
	exit 1
fi

appliance_init
ROUNDS="warmup r1 r2"
tap_plan 40

NAME=l$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-load-test.XXXXXX)
chmod 0755 "$T"
BG=()		# a round's background curls, killed by pid on exit
cleanup() {
	local p
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ "$_TAP_FAILED" -gt 0 ] && [ -n "${D:-}" ]; then
		tap_diag "sessiond.log:"; tap_diag "$(tail -20 "$D/sessiond.log" 2>/dev/null)"
		tap_diag "proxyd.log:"; tap_diag "$(tail -10 "$D/proxyd.log" 2>/dev/null)"
	fi
	# LOAD_KEEP=1 keeps the scratch directory (and the lab's logs) to look at.
	[ -n "${LOAD_KEEP:-}" ] && [ -n "${D:-}" ] && cp "$D"/*.log "$D"/*.jsonl "$T/" 2>/dev/null
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	if [ -n "${LOAD_KEEP:-}" ]; then tap_diag "kept $T"; else rm -rf -- "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Room for a whole round at once, and the soak's sessions on top.
printf 'max_sessions %d\n' $((N + SOAK_N + 8)) >"$T/extra.conf"
appliance_up "$NAME" --sessiond-conf-extra "$T/extra.conf"
LNS=${NAME}lab
PX_PID=$(cat "$D/proxyd.pid")
SD_PID=$(cat "$D/sessiond.pid")
tap_check "lab up: proxyd and sessiond run, health is 200" \
	test -d "/proc/$PX_PID" -a -d "/proc/$SD_PID" -a "$(api GET /v1/health)" = 200

# --- helpers -----------------------------------------------------------------
now() { date +%s.%N; }
# sample PID: "FDS RSS_KB" of a daemon of ours; proxyd's pooled pipes
# apart (proc_fds), their bound checked at the end.
sample() {
	local fds rss
	if [ "$1" = "$PX_PID" ]; then
		fds=$(proc_fds "$1" other)
	else
		fds=$(proc_fds "$1")
	fi
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	echo "$fds ${rss:-0}"
}
# leftovers: whatever a session may leave behind, one per line; empty when clean.
leftovers() {
	ls /run/netns | grep -E "^${NAME}s[0-9]+$"
	ip -n "$LNS" -o link show | grep -oE "${NAME}h[0-9]+"
	ip netns exec "$LNS" nft list set inet enclave session_ifaces | grep -oE "${NAME}h[0-9]+"
	find /sys/fs/cgroup -maxdepth 6 -type d -name "enclave-${NAME}-*" 2>/dev/null
	ls "$D/state/sessions"
}
# sync_seq: LAST_SEQ becomes the global log's last sequence number. It
# asks only for what came after the last one it saw: the whole log in one
# reply would cost sessiond memory in proportion to the log, and that
# high-water mark would show as RSS growth from round to round.
LAST_SEQ=0
sync_seq() {
	api GET "/v1/audit?after=$LAST_SEQ" >/dev/null
	LAST_SEQ=$(js 'd["events"][-1]["seq"] if d["events"] else '"$LAST_SEQ")
}
# settle PID WANT: wait (bounded, 10 s) until PID's fd count is WANT; a
# connection proxyd has relayed may still be closing when DELETE returns.
settle() {
	local i
	for i in $(seq 50); do
		[ "$(sample "$1" | cut -d' ' -f1)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# The load workload. Each line's verdict is the one the appliance must
# give; -4 keeps curl's lookups to one A query each, and each name is
# looked up once (proxyd reports a name's lookups once per 2 s per event
# loop), so the audit is exact. RES_OPTIONS: glibc asks again after 5 s
# without an answer, a second query and a second event; an answer late
# on a loaded 2-core machine must fail the check, not hide in a retry.
LOAD_CODE='export RES_OPTIONS="timeout:30 attempts:1"
curl -4 -s -o /dev/null -w "%{http_code} " --max-time 20 http://allowed.test/
curl -4 -sk -o /dev/null -w "%{http_code} " --max-time 20 https://api.allowed.test/
curl -4 -s -o /dev/null -w "%{http_code} " --max-time 20 http://169.254.169.254/latest/meta-data/
getent ahostsv4 exfil.attacker.example >/dev/null; echo "dns=$? "
bash -c "echo x >/dev/udp/198.18.1.66/9999" 2>/dev/null; echo "udp=$?"'
LOAD_STDOUT=$'200 200 403 dns=2 \nudp=0\n'
# What it does, as audit events: TYPE HOST PROTO REASON, each once.
cat >"$T/expect" <<'EOF'
egress_allowed allowed.test dns allowed
egress_allowed allowed.test http allowed
egress_allowed api.allowed.test dns allowed
egress_allowed api.allowed.test tls allowed
egress_denied 169.254.169.254 http blocked_range
egress_denied exfil.attacker.example dns not_allowlisted
egress_denied 198.18.1.66 udp protocol_not_allowed
EOF
ALLOW='"egress": {"allow": ["allowed.test", "api.allowed.test"]}'
REQ=$T/req-wait body sh "$LOAD_CODE" '{"timeout_ms": 90000}' "{$ALLOW}"
REQ=$T/req-nowait body sh "$LOAD_CODE" '{"timeout_ms": 90000}' "{\"wait\": false, $ALLOW}"

# round NAME: N sessions POSTed at once, the first half with wait=true
# (each curl waits in parallel), the second with wait=false (polled).
# Writes $T/NAME/{i.post,i.meta,i.json,i.audit,ids,global.json,times}.
round() {
	local r=$T/$1 i pids=() t0 t1 t2 t3 t4 end req code
	mkdir -p "$r"
	sync_seq
	echo "$LAST_SEQ" >"$r/seq0"
	t0=$(now)
	for i in $(seq "$N"); do
		if [ "$i" -le $((N / 2)) ]; then req=$T/req-wait; else req=$T/req-nowait; fi
		curl -s -o "$r/$i.post" -w '%{http_code} %{time_total}' --max-time 120 \
			--unix-socket "$S" -X POST --data-binary "@$req" \
			http://sessiond/v1/sessions >"$r/$i.meta" 2>/dev/null &
		pids+=("$!")
	done
	BG=("${pids[@]}")
	for i in "${pids[@]}"; do wait "$i"; done
	BG=()
	t1=$(now)
	python3 - "$r" "$N" >"$r/ids" <<'EOF'
import json, sys
for i in range(1, int(sys.argv[2]) + 1):
    try:
        print(json.load(open("%s/%d.post" % (sys.argv[1], i)))["id"])
    except Exception:
        print("-")
EOF
	# Poll until every session is terminal: bounded by the clock.
	end=$((SECONDS + 120))
	while [ "$SECONDS" -lt "$end" ]; do
		api GET /v1/sessions >/dev/null
		python3 - "$T/body" "$r/ids" <<'EOF' && break
import json, sys
d = json.load(open(sys.argv[1]))
want = set(open(sys.argv[2]).read().split()) - {"-"}
term = {"succeeded", "failed", "timed_out", "killed", "error"}
done = {s["id"] for s in d["sessions"] if s["phase"] in term}
sys.exit(0 if want <= done else 1)
EOF
		sleep 0.2
	done
	t2=$(now)
	i=0
	while read -r id; do
		i=$((i + 1))
		if [ "$id" = - ]; then echo '{}' >"$r/$i.json"; continue; fi
		api GET "/v1/sessions/$id" >/dev/null
		cp "$T/body" "$r/$i.json"
	done <"$r/ids"
	sample "$PX_PID" >"$r/px.busy"
	sample "$SD_PID" >"$r/sd.busy"
	# DELETE all at once.
	t3=$(now)
	pids=()
	i=0
	while read -r id; do
		i=$((i + 1))
		[ "$id" = - ] && { echo 000 >"$r/$i.del"; continue; }
		curl -s -o /dev/null -w '%{http_code}' --max-time 60 --unix-socket "$S" \
			-X DELETE "http://sessiond/v1/sessions/$id" >"$r/$i.del" 2>/dev/null &
		pids+=("$!")
	done <"$r/ids"
	BG=("${pids[@]}")
	for i in "${pids[@]}"; do wait "$i"; done
	BG=()
	t4=$(now)
	i=0
	while read -r id; do
		i=$((i + 1))
		[ "$id" = - ] && { echo '{"events":[]}' >"$r/$i.audit"; continue; }
		api GET "/v1/sessions/$id/audit" >/dev/null
		cp "$T/body" "$r/$i.audit"
	done <"$r/ids"
	code=$(api GET "/v1/audit?after=$(cat "$r/seq0")")
	cp "$T/body" "$r/global.json"
	echo "$t0 $t1 $t2 $t3 $t4 $code" >"$r/times"
}

# check_round NAME: the round's TAP lines.
check_round() {
	local r=$T/$1 out
	out=$(python3 - "$r" "$N" "$LOAD_STDOUT" "$T/expect" "$D/proxyd-events.jsonl" <<'EOF'
import json, os, sys, collections
r, n, want_out, expect_f, pxlog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def load(p):
    try:
        return json.load(open(p))
    except Exception:
        return {}
ids = open(os.path.join(r, "ids")).read().split()
bad = collections.defaultdict(list)
expect = collections.Counter(tuple(l.split()) for l in open(expect_f) if l.strip())
head = ["session_created", "sandbox_started"]
tail = ["result_collected", "workload_exited", "usage_metered", "session_torn_down"]
# proxyd's own event log: what it sent sessiond, per session.
px = collections.defaultdict(collections.Counter)
for l in open(pxlog):
    try:
        e = json.loads(l)["event"]
    except (ValueError, KeyError, TypeError):
        continue
    if e.get("session"):
        px[e["session"]][(e["type"], e.get("host"), e.get("proto"), e.get("reason"))] += int(e.get("count", 1))
for i in range(1, n + 1):
    meta = open(os.path.join(r, "%d.meta" % i)).read().split()
    if not meta or meta[0] != "201":
        bad["post"].append("%d:%s" % (i, meta[0] if meta else "none"))
    s = load(os.path.join(r, "%d.json" % i))
    if s.get("phase") != "succeeded":
        bad["phase"].append("%d:%s:%s" % (i, s.get("phase"), s.get("error")))
    if s.get("stdout") != want_out:
        bad["verdict"].append("%d:%r" % (i, s.get("stdout")))
    ev = load(os.path.join(r, "%d.audit" % i)).get("events", [])
    types = [e["type"] for e in ev]
    mid = types[len(head):len(types) - len(tail)]
    if (types[:len(head)] != head or types[len(types) - len(tail):] != tail or
            any(t not in ("egress_allowed", "egress_denied") for t in mid)):
        bad["sequence"].append("%d:%s" % (i, ",".join(types)))
    got = collections.Counter()
    for e in ev:
        if e["type"] in ("egress_allowed", "egress_denied"):
            k = (e["type"], e["data"].get("host"), e["data"].get("proto"), e["data"].get("reason"))
            got[k] += int(e["data"].get("count", 1))
    if got != expect:
        bad["egress"].append("%d:+%s -%s" % (i, dict(got - expect), dict(expect - got)))
    # Everything proxyd decided reached the session's audit (UDP is NFLOG's).
    fromproxyd = collections.Counter({k: v for k, v in got.items() if k[2] != "udp"})
    if i <= len(ids) and px[ids[i - 1]] != fromproxyd:
        bad["proxyd"].append("%d: proxyd only %s, audit only %s" % (i,
            dict(px[ids[i - 1]] - fromproxyd), dict(fromproxyd - px[ids[i - 1]])))
g = load(os.path.join(r, "global.json"))
gev = g.get("events", [])
mine = set(ids)
per = collections.Counter(e.get("session") for e in gev)
others = [e for e in gev if e.get("session") not in mine]
want_total = n * (len(head) + sum(expect.values()) + len(tail))
print("post %s" % " ".join(bad["post"][:5]))
print("phase %s" % " ".join(bad["phase"][:5]))
print("verdict %s" % " ".join(bad["verdict"][:5]))
print("sequence %s" % " ".join(bad["sequence"][:3]))
print("egress %s" % " ".join(bad["egress"][:3]))
print("proxyd %s" % " ".join(bad["proxyd"][:5]))
gl = []
if not g.get("verified"):
    gl.append("not verified")
if len(gev) != want_total:
    gl.append("%d events, want %d" % (len(gev), want_total))
if others:
    gl.append("%d events of no session of this round: %s" % (len(others), json.dumps(others[:2])))
seqs = [e["seq"] for e in gev]
if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False:
    gl.append("sequence numbers not contiguous")
print("global %s" % " ".join(gl))
EOF
)
	field() { printf '%s\n' "$out" | sed -n "s/^$1 //p"; }
	# An empty tail after the key means "no failure".
	is "$1: all $N POSTs answered 201 (half waited, half polled)" "" "$(field post)"
	is "$1: every session succeeded" "" "$(field phase)"
	is "$1: every verdict right (200 200 403, NXDOMAIN, UDP dropped)" "" "$(field verdict)"
	is "$1: every session's audit: created, started, its egress, result, exited, metered, torn down" "" \
		"$(field sequence)"
	is "$1: every session's egress events are exactly what its workload did" "" "$(field egress)"
	is "$1: every decision proxyd logged reached that session's audit" "" "$(field proxyd)"
	is "$1: the global log: verified, contiguous, exactly $((N * 13)) events, all this round's" "" \
		"$(field global)"
	is "$1: all $N DELETEs answered 204" "$N" "$(cat "$r"/*.del | grep -o 204 | wc -l)"
	is "$1: no netns, veth, nft element, cgroup or state file left" "" "$(leftovers 2>&1)"
}

# --- coalesced denials at a session's end -------------------------------------
# proxyd folds identical denials for 2 s and sends their count when the
# window closes; the count must still land in the session's audit, before
# usage_metered, even when the session is deleted at once.
run sh 'for i in 1 2 3 4; do curl -s -o /dev/null -w "%{http_code} " --max-time 20 --resolve other.test:80:198.18.1.11 http://other.test/; done'
C_ID=$(js 'd["id"]' "$T/last")
api DELETE "/v1/sessions/$C_ID" >/dev/null
sleep 3	# past the window: a late count would have arrived by now
api GET "/v1/sessions/$C_ID/audit" >/dev/null
is "four identical denials, deleted at once: all four counted in the session's audit, before usage_metered" \
	"403 403 403 403 |4|session_created,sandbox_started,egress_denied,result_collected,workload_exited,usage_metered,session_torn_down" \
	"$(js 'd["stdout"]' "$T/last")|$(js 'sum(e["data"]["count"] for e in d["events"] if e["type"]=="egress_denied")')|$(js '",".join(t for i, t in enumerate(e["type"] for e in d["events"]) if not (t == "egress_denied" and i > 2))')"

# --- load rounds ---------------------------------------------------------------
I_PX=$(sample "$PX_PID"); I_SD=$(sample "$SD_PID")
tap_diag "idle: proxyd fds/rss_kb $I_PX, sessiond $I_SD"
for R in $ROUNDS; do
	round "$R"
	check_round "$R"
	if [ "$R" = warmup ]; then
		# The baseline: after one whole round, every pool and cache warm.
		sleep 1
		B_PX=$(sample "$PX_PID"); B_SD=$(sample "$SD_PID")
		tap_diag "baseline after warm-up: proxyd fds/rss_kb $B_PX, sessiond $B_SD"
	else
		settle "$PX_PID" "${B_PX% *}"
		settle "$SD_PID" "${B_SD% *}"
		sample "$PX_PID" >"$T/$R/px.after"
		sample "$SD_PID" >"$T/$R/sd.after"
		tap_diag "$R: busy proxyd $(cat "$T/$R/px.busy"), sessiond $(cat "$T/$R/sd.busy");" \
			"after DELETE proxyd $(cat "$T/$R/px.after"), sessiond $(cat "$T/$R/sd.after")"
	fi
done
is "fds: proxyd's back to its baseline after each round" \
	"${B_PX% *} ${B_PX% *}" "$(cut -d' ' -f1 "$T/r1/px.after") $(cut -d' ' -f1 "$T/r2/px.after")"
is "fds: sessiond's back to its baseline after each round" \
	"${B_SD% *} ${B_SD% *}" "$(cut -d' ' -f1 "$T/r1/sd.after") $(cut -d' ' -f1 "$T/r2/sd.after")"
# RSS: malloc keeps freed arenas, so a round may leave RSS higher than the
# baseline; a leak shows as the second identical round growing it again.
# Tolerance: 1 MiB plus 1 KiB per session (noise of glibc's per-thread
# arenas and trimming), far below what a per-session leak of a buffer
# or a connection's state would add over N sessions.
RSS_TOL=$((1024 + N))
rss_ok() { # NAME FILE1 FILE2
	local a b
	a=$(cut -d' ' -f2 "$2"); b=$(cut -d' ' -f2 "$3")
	tap_ok $((! (b <= a + RSS_TOL))) "RSS: $1's after round 2 ($b kB) within $RSS_TOL kB of after round 1 ($a kB)"
}
rss_ok proxyd "$T/r1/px.after" "$T/r2/px.after"
rss_ok sessiond "$T/r1/sd.after" "$T/r2/sd.after"
tap_check "audit verify: the whole log's chain holds" "$CTL" audit verify "$D/audit.log"

# --- figures from the load rounds --------------------------------------------------
python3 - "$T" "$N" >"$T/figures" <<'EOF'
import json, os, sys, datetime
T, n = sys.argv[1], int(sys.argv[2])
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
def pct(v, p):
    v = sorted(v)
    if not v:
        return 0.0
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]
e2e, run, fin, crt, rates, dels, evs = [], [], [], [], [], [], []
for r in ("r1", "r2"):
    d = os.path.join(T, r)
    t0, t1, t2, t3, t4, _ = open(os.path.join(d, "times")).read().split()
    t0, t1, t2, t3, t4 = map(float, (t0, t1, t2, t3, t4))
    # From the first POST to the last session's finished_at (sessiond's
    # clock, the same realtime clock): the test's own polling is not in it.
    last = t0
    for i in range(1, n + 1):
        try:
            last = max(last, ts(json.load(open(os.path.join(d, "%d.json" % i)))["finished_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    rates.append(n / max(last - t0, 1e-3))
    dels.append(n / max(t4 - t3, 1e-3))
    for i in range(1, n + 1):
        # A session that failed is reported above; it has no figures.
        try:
            meta = open(os.path.join(d, "%d.meta" % i)).read().split()
            s = json.load(open(os.path.join(d, "%d.json" % i)))
            ev = json.load(open(os.path.join(d, "%d.audit" % i)))["events"]
            fin.append((ts(s["finished_at"]) - ts(s["created_at"])) * 1000)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if i <= n // 2:
            e2e.append(float(meta[1]) * 1000)
        else:
            crt.append(float(meta[1]) * 1000)
        c = [e["ts"] for e in ev if e["type"] == "session_created"]
        st = [e["ts"] for e in ev if e["type"] == "sandbox_started"]
        if c and st:
            run.append((ts(st[0]) - ts(c[0])) * 1000)
    g = json.load(open(os.path.join(d, "global.json")))["events"]
    # Events written while the sessions ran: created ... last usage_metered.
    w = [ts(e["ts"]) for e in g if e["type"] != "session_torn_down"]
    evs.append(len(w) / max(max(w) - min(w), 1e-3))
figs = [
    ("load_sessions_per_round", n, "sessions"),
    # A session's sandbox is torn down before its finished_at is set.
    ("sessions_created_run_and_torn_down_per_s", sum(rates) / len(rates), "sessions/s"),
    ("sessions_deleted_per_s", sum(dels) / len(dels), "sessions/s"),
    ("latency_create_to_finished_p50", pct(e2e, 50), "ms"),
    ("latency_create_to_finished_p99", pct(e2e, 99), "ms"),
    ("latency_create_to_finished_server_p50", pct(fin, 50), "ms"),
    ("latency_create_to_finished_server_p99", pct(fin, 99), "ms"),
    ("latency_create_to_running_p50", pct(run, 50), "ms"),
    ("latency_create_to_running_p99", pct(run, 99), "ms"),
    ("latency_post_nowait_p50", pct(crt, 50), "ms"),
    ("latency_post_nowait_p99", pct(crt, 99), "ms"),
    ("audit_events_per_s", sum(evs) / len(evs), "events/s"),
]
for k, v, u in figs:
    print("%s %.1f %s" % (k, v, u) if isinstance(v, float) else "%s %d %s" % (k, v, u))
EOF
while read -r k v u; do tap_diag "figure: $k $v $u"; done <"$T/figures"

# --- soak ----------------------------------------------------------------------------
# SOAK_N sessions, each looping for SOAK seconds (and at most 10 loops a
# second): HTTP and HTTPS to allowed.test, HTTP naming other.test (denied),
# a lookup of allowed.test and one of exfil.attacker.example. It counts
# what it got; the audit must hold exactly as many events.
SOAK_CODE='export RES_OPTIONS="timeout:30 attempts:1"
end=$(( $(date +%s) + '"$SOAK"' )); i=0; h=0; s=0; x=0; a=0; e=0
while [ "$(date +%s)" -lt "$end" ] && [ "$i" -lt '"$((SOAK * 10))"' ]; do
	i=$((i + 1))
	r=$(curl -4 -s -o /dev/null -w "%{http_code} %{time_total}" --max-time 20 http://allowed.test/) && [ "${r% *}" = 200 ] && h=$((h + 1)) || echo "$i http: $r exit $? at $(date +%T.%N)" >&2
	r=$(curl -4 -sk -o /dev/null -w "%{http_code} %{time_total}" --max-time 20 https://allowed.test/) && [ "${r% *}" = 200 ] && s=$((s + 1)) || echo "$i https: $r exit $? at $(date +%T.%N)" >&2
	r=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" --max-time 20 --resolve other.test:80:198.18.1.11 http://other.test/) && [ "${r% *}" = 403 ] && x=$((x + 1)) || echo "$i denied: $r exit $? at $(date +%T.%N)" >&2
	getent ahostsv4 allowed.test >/dev/null && a=$((a + 1)) || echo "$i lookup failed at $(date +%T.%N)" >&2
	getent ahostsv4 exfil.attacker.example >/dev/null && echo "$i exfil resolved" >&2 || e=$((e + 1))
	sleep 0.1
done
echo "$i $h $s $x $a $e"'
REQ=$T/req-soak body sh "$SOAK_CODE" "{\"timeout_ms\": $(((SOAK + 120) * 1000))}" '{"wait": false}'
sync_seq
SEQ0=$LAST_SEQ
soak_ids=()
for i in $(seq "$SOAK_N"); do
	api POST /v1/sessions "$T/req-soak" >/dev/null
	soak_ids+=("$(js 'd.get("id", "-")')")
done
# Sample every SOAK/15 s (1 to 5) while they run, bounded by the clock.
EVERY=$((SOAK / 15)); [ "$EVERY" -lt 1 ] && EVERY=1; [ "$EVERY" -gt 5 ] && EVERY=5
: >"$T/soak.samples"
t0=$SECONDS
end=$((SECONDS + SOAK + 100))
while [ "$SECONDS" -lt "$end" ]; do
	echo "$((SECONDS - t0)) $(sample "$PX_PID") $(sample "$SD_PID")" >>"$T/soak.samples"
	api GET /v1/sessions >/dev/null
	[ "$(js 'sum(1 for s in d["sessions"] if s["phase"] in ("pending","starting","running"))')" = 0 ] && break
	sleep "$EVERY"
done
SOAK_WALL=$((SECONDS - t0))
while read -r t pf pr sf sr; do
	tap_diag "soak sample t=${t}s proxyd fds=$pf rss_kb=$pr sessiond fds=$sf rss_kb=$sr"
done <"$T/soak.samples"
for id in "${soak_ids[@]}"; do
	api GET "/v1/sessions/$id" >/dev/null; cp "$T/body" "$T/soak-$id.json"
	api DELETE "/v1/sessions/$id" >/dev/null
	api GET "/v1/sessions/$id/audit" >/dev/null; cp "$T/body" "$T/soak-$id.audit"
done
api GET "/v1/audit?after=$SEQ0" >/dev/null
cp "$T/body" "$T/soak-global.json"
out=$(python3 - "$T" "$SOAK" "${soak_ids[@]}" <<'EOF'
import json, sys, collections
T, soak, ids = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
bad, aud, iters = [], [], 0
for sid in ids:
    try:
        s = json.load(open("%s/soak-%s.json" % (T, sid)))
        ev = json.load(open("%s/soak-%s.audit" % (T, sid)))["events"]
    except Exception as x:
        bad.append("%s: %s" % (sid, x)); continue
    f = (s.get("stdout") or "").split()
    if s.get("phase") != "succeeded" or len(f) != 6:
        bad.append("%s: %s %r %s" % (sid, s.get("phase"), s.get("stdout"), s.get("error"))); continue
    i, h, tls, x, a, e = map(int, f)
    iters += i
    if not (i >= 3 and h == i and tls == i and x == i and a == i and e == i):
        bad.append("%s: iterations %d, http %d, https %d, denied %d, lookups %d, refused %d; stderr %r" % (sid, i, h, tls, x, a, e, s.get("stderr", "")[:400]))
    types = [v["type"] for v in ev]
    if (types[:2] != ["session_created", "sandbox_started"] or
            types[-4:] != ["result_collected", "workload_exited", "usage_metered", "session_torn_down"] or
            any(t not in ("egress_allowed", "egress_denied") for t in types[2:-4])):
        aud.append("%s: sequence %s" % (sid, ",".join(t for i, t in enumerate(types) if i < 3 or t not in ("egress_allowed", "egress_denied"))))
    got = collections.Counter()
    for v in ev:
        if v["type"] in ("egress_allowed", "egress_denied"):
            got[(v["type"], v["data"]["host"], v["data"]["proto"], v["data"]["reason"])] += int(v["data"].get("count", 1))
    want = collections.Counter({
        ("egress_allowed", "allowed.test", "dns", "allowed"): 3 * i,
        ("egress_allowed", "allowed.test", "http", "allowed"): i,
        ("egress_allowed", "allowed.test", "tls", "allowed"): i,
        ("egress_denied", "other.test", "http", "not_allowlisted"): i,
        ("egress_denied", "exfil.attacker.example", "dns", "not_allowlisted"): i})
    # proxyd reports a session's lookups of one name once per 2 s per
    # event loop (DNSSERVER_DEDUPE_MS): between one and one per lookup.
    for k in [k for k in want if k[2] == "dns"]:
        if not 1 <= got[k] <= want[k]:
            aud.append("%s: %d %s events for %d lookups" % (sid, got[k], k, want[k]))
        got.pop(k, None)
        want.pop(k)
    if got != want:
        aud.append("%s: +%s -%s" % (sid, dict(got - want), dict(want - got)))
g = json.load(open("%s/soak-global.json" % T))["events"]
gone = [v for v in g if "session_gone" in v.get("data", {})]
if gone:
    aud.append("%d events arrived after their session had gone, e.g. %s" % (len(gone), json.dumps(gone[0])))
print("sessions %s" % " | ".join(bad))
print("audit %s" % " | ".join(aud[:4]))
print("iters %d" % iters)
print("events %d" % len(g))
EOF
)
field() { printf '%s\n' "$out" | sed -n "s/^$1 //p"; }
is "soak: $SOAK_N sessions ran ${SOAK} s of mixed traffic, every fetch, denial and lookup as it should be" "" "$(field sessions)"
is "soak: every fetch, denial and lookup is in its session's audit (coalesced counts included)" "" "$(field audit)"
# Flat: after the first third (warm-up), the largest sample of the last
# third may exceed the largest of the middle third by the RSS tolerance
# (RSS), or by the fds of what is in flight at the instant of a sample:
# each soak session runs one request at a time, so proxyd holds at most
# about 4 fds for it (client, upstream, a lookup), sessiond none (its
# sessions' pipes are open all along); 8 more for slack either way.
flat() { # COLUMN TOL
	awk -v c="$1" -v tol="$2" '{ v[NR] = $c } END {
		if (NR < 6) { print "only " NR " samples"; exit }
		a = int(NR / 3); b = int(2 * NR / 3); m1 = 0; m2 = 0
		for (i = a + 1; i <= b; i++) if (v[i] > m1) m1 = v[i]
		for (i = b + 1; i <= NR; i++) if (v[i] > m2) m2 = v[i]
		if (m2 > m1 + tol) print "grew from " m1 " to " m2 " (tolerance " tol ")" }' "$T/soak.samples"
}
is "soak: proxyd's RSS flat after warm-up" "" "$(flat 3 "$RSS_TOL")"
is "soak: sessiond's RSS flat after warm-up" "" "$(flat 5 "$RSS_TOL")"
is "soak: proxyd's and sessiond's fds flat after warm-up" "" "$(flat 2 $((4 * SOAK_N + 8)))$(flat 4 8)"
settle "$PX_PID" "${B_PX% *}"
settle "$SD_PID" "${B_SD% *}"
PX_PIPES=$(proc_fds "$PX_PID" pipes)
is "soak: after DELETE both daemons' fds are back to baseline (proxyd's pooled pipes within their bound), nothing left" \
	"${B_PX% *} ${B_SD% *} bounded " \
	"$(sample "$PX_PID" | cut -d' ' -f1) $(sample "$SD_PID" | cut -d' ' -f1) $([ "$PX_PIPES" -le "$PROXYD_PIPE_FDS_MAX" ] && echo bounded || echo "$PX_PIPES pipe fds") $(leftovers 2>&1)"
SOAK_EV=$(field events)
SOAK_IT=$(field iters)
{
	echo "soak_seconds $SOAK s"
	echo "soak_sessions $SOAK_N sessions"
	echo "soak_loops $SOAK_IT loops"
	echo "soak_audit_events_per_s $(awk -v e="$SOAK_EV" -v t="$SOAK_WALL" 'BEGIN { printf "%.1f", e / (t > 0 ? t : 1) }') events/s"
	echo "soak_proxyd_rss_kb_first_last $(awk 'NR == 1 { f = $3 } { l = $3 } END { print f "/" l }' "$T/soak.samples") kB"
	echo "soak_sessiond_rss_kb_first_last $(awk 'NR == 1 { f = $5 } { l = $5 } END { print f "/" l }' "$T/soak.samples") kB"
} >>"$T/figures"
tail -6 "$T/figures" | while read -r k v u; do tap_diag "figure: $k $v $u"; done
if [ -n "${LOAD_REPORT:-}" ]; then
	python3 - "$T/figures" "$T/soak.samples" "$LOAD_REPORT" "$_TAP_FAILED" <<'EOF'
import json, sys
f = {}
for l in open(sys.argv[1]):
    k, v, u = l.split()
    try:
        v = float(v) if "." in v else int(v)
    except ValueError:
        pass
    f[k] = {"value": v, "unit": u}
cols = ("t_s", "proxyd_fds", "proxyd_rss_kb", "sessiond_fds", "sessiond_rss_kb")
samples = [dict(zip(cols, map(int, l.split()))) for l in open(sys.argv[2]) if l.strip()]
json.dump({"figures": f, "soak_samples": samples, "failed_checks": int(sys.argv[4])},
          open(sys.argv[3], "w"), indent=1, sort_keys=True)
EOF
	tap_diag "figures written to $LOAD_REPORT"
fi
tap_done
