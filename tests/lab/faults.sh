#!/bin/bash
# tests/lab/faults.sh - TAP: sessiond killed at every step of a session's
# setup and teardown, on a whole appliance (`enclavectl lab up`).
#
# sessiond SIGKILLs itself (ENCLAVE_FAULT, sessiond/fault.h) at each point,
# armed through `enclave-lab restart N sessiond` (the lab's own spawn and
# pid file); restarted without the fault, it leaves nothing stale (session
# netns, veths, nft elements, cgroups, state and run files, the workload,
# proxyd's entry for the session id and its source address), reports the
# session as its reconcile documents (error, with the restart's reason, in
# the API and as the audit's last event), and the audit chain verifies.
# NAME:N is checked once for real. proxyd and DNS faults: dnsfaults.sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"


# Setup points kill during POST; the rest during the DELETE of a running
# session (its kill, result, metering and teardown). The order is fault.h's.
SETUP_POINTS="setup.created setup.address setup.state setup.netns setup.rules
setup.proxy setup.sandbox setup.running"
END_POINTS="finish.result finish.metered teardown.begin teardown.sandbox
teardown.proxy teardown.rules teardown.netns teardown.state teardown.ended"
# Killed after its state file is gone (ended: it had ended, and its audit
# says how), a session is unknown after the restart; at every other point
# reconcile ends it in error with its reason, in the API and the audit.
UNKNOWN_POINTS=" teardown.ended "
# Where proxyd still holds the session when sessiond dies: after the add,
# before the del.
HELD_POINTS=" setup.proxy setup.sandbox setup.running finish.result finish.metered
teardown.begin teardown.sandbox "

appliance_init sessiond/enclave-sessiond
npoints=$(echo $SETUP_POINTS $END_POINTS | wc -w)
tap_plan $((1 + npoints * 6 + 3))

NAME=f$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-faults-test.XXXXXX)
chmod 0755 "$T"
cleanup() {
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

appliance_up "$NAME"
LNS=${NAME}lab
is "lab up: health 200 with proxyd connected" "200 True" \
	"$(api GET /v1/health) $(js 'd["proxyd"]')"

# restart_sd [FAULT]: sessiond again through the lab's own spawn and pid
# file, armed with FAULT or not.
restart_sd() {
	ENCLAVE_FAULT=${1:-} "$LABSCRIPT" restart "$NAME" sessiond >>"$T/restart.log" 2>&1
}
# stale: every object of a session that outlived it, one per line.
stale() {
	ls /run/netns | grep -E "^${NAME}s[0-9]+$" | sed 's/^/netns /'
	ip -n "$LNS" -o link show 2>/dev/null | grep -oE "${NAME}h[0-9]+" | sed 's/^/link /'
	ip netns exec "$LNS" nft list table inet enclave | grep -E 'elements = ' | sed 's/^/nft /'
	find /sys/fs/cgroup -maxdepth 8 -type d -name "enclave-${NAME}-*" 2>/dev/null | sed 's/^/cgroup /'
	ls -A "$D/state/sessions" | sed 's/^/state /'
	ls -A "$D/state/run" | sed 's/^/run /'
	pgrep -f "sleep 3$MARK" 2>/dev/null | sed 's/^/process /'
}
# pxprobe ID ADDR: what proxyd's control socket says of session ID and of
# source ADDR: "del:CODE add:CODE" (ok, not_found, exists). Deleting ID
# after a restart finds it or not (an empty ID: not asked); a probe session
# at ADDR is refused as "exists" while anything holds that source, and is
# removed again.
pxprobe() {
	python3 - "$D/proxyd.sock" "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rb")
def call(req):
    s.sendall((json.dumps(req) + "\n").encode())
    while True:
        r = json.loads(f.readline())
        if "ok" in r and r.get("req") == req["req"]:
            return "ok" if r["ok"] else r["error"]["code"]
probe = "ses_faultprobe000000000000"
out = []
if sys.argv[2]:
    out.append("del:" + call({"v": 1, "req": 1, "op": "session_del", "id": sys.argv[2]}))
add = call({"v": 1, "req": 2, "op": "session_add", "id": probe,
            "tenant": "default", "source": sys.argv[3], "allow": ["allowed.test"]})
out.append("add:" + add)
if add == "ok":
    call({"v": 1, "req": 3, "op": "session_del", "id": probe})
print(" ".join(out))
EOF
}
# last_created: the id of the last session_created in the audit log.
last_created() {
	python3 -c 'import json,sys
ids=[e["session"] for e in map(json.loads, open(sys.argv[1])) if e["type"]=="session_created"]
print(ids[-1] if ids else "")' "$D/audit.log"
}

# --- 1. sessiond killed at every point -------------------------------------
MARK=$RANDOM
# The first session's address: the pool hands out its first pair again
# once everything is freed.
ADDR=198.19.0.1
for p in $SETUP_POINTS $END_POINTS; do
	before=$(last_created)
	restart_sd "$p" || tap_diag "restart with ENCLAVE_FAULT=$p failed: $(tail -3 "$T/restart.log")"
	SPID=$(cat "$D/sessiond.pid")
	case " ${SETUP_POINTS//$'\n'/ } " in
	*" $p "*)
		# The POST's connection dies with sessiond: no answer.
		body sh "sleep 3$MARK" '{"timeout_ms": 60000}'
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
			--unix-socket "$S" -X POST --data-binary "@$T/req" http://sessiond/v1/sessions)
		;;
	*)
		body sh "sleep 3$MARK" '{"timeout_ms": 60000}' '{"wait": false}'
		api POST /v1/sessions "$T/req" >/dev/null
		id=$(js 'd.get("id", "")')
		# Running before the DELETE: the kill comes from the API.
		for _ in $(seq 50); do
			[ "$(api GET "/v1/sessions/$id" >/dev/null; js 'd.get("phase")')" = running ] && break
			sleep 0.1
		done
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
			--unix-socket "$S" -X DELETE "http://sessiond/v1/sessions/$id")
		;;
	esac
	_lab_wait_dead 200 "$SPID"
	id=$(last_created)
	[ "$id" != "$before" ] || id=""
	is "$p: sessiond SIGKILLed itself there, the caller got no answer" \
		"dead 000 1 $NAME" \
		"$(_lab_alive "$SPID" && echo alive || echo dead) $code $(tail -1 "$D/sessiond.log" | grep -c "fault injection: SIGKILL at $p ") ${id:+$NAME}"
	# Dead, not yet restarted: what the kill left in proxyd (so that its
	# absence after the restart is reconcile's doing).
	case " ${HELD_POINTS//$'\n'/ } " in
	*" $p "*) want=exists ;;
	*) want=ok ;;
	esac
	is "$p: at the kill, a probe add at its address in proxyd says $want" "add:$want" "$(pxprobe "" "$ADDR")"
	restart_sd || tap_diag "restart without a fault failed: $(tail -3 "$T/restart.log")"
	is "$p: after the restart nothing of the session is left" "" "$(stale)"
	api GET "/v1/sessions/$id" >"$T/status"
	case $UNKNOWN_POINTS in
	*" $p "*)
		is "$p: the session is unknown after the restart (404)" 404 "$(cat "$T/status")" ;;
	*)
		is "$p: the session ended in error with the restart's reason" "200 error 1 sandbox_failed:restart" \
			"$(cat "$T/status") $(js 'd["phase"]') $(js 'int("restarted" in d["error"])') $(types "$id" >/dev/null;
			js '"%s:%s" % (d["events"][-1]["type"], d["events"][-1]["data"].get("step"))')" ;;
	esac
	is "$p: proxyd holds neither its id nor its address" "del:not_found add:ok" "$(pxprobe "$id" "$ADDR")"
	tap_check "$p: audit verify" "$CTL" audit verify "$D/audit.log"
done

# The count in NAME:N is real: the first session passes, the second dies.
restart_sd teardown.proxy:2
SPID=$(cat "$D/sessiond.pid")
run sh 'echo first'
first="$(cat "$T/status") $(js 'd["phase"]' "$T/last")"
body sh 'echo second'
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
	--unix-socket "$S" -X POST --data-binary "@$T/req" http://sessiond/v1/sessions)
_lab_wait_dead 200 "$SPID"
is "teardown.proxy:2: the first session succeeds, sessiond dies in the second's teardown" \
	"201 succeeded 000 dead" "$first $code $(_lab_alive "$SPID" && echo alive || echo dead)"
restart_sd
is "teardown.proxy:2: nothing left after the restart" "" "$(stale)"
run sh 'echo after'
is "after all the faults a session runs normally, at the first address" \
	"201 succeeded after 198.19.0.1" \
	"$(cat "$T/status") $(js 'd["phase"]' "$T/last") $(js 'd["stdout"].strip()' "$T/last") $(types "$(js 'd["id"]' "$T/last")" >/dev/null; js '[e["data"]["address"] for e in d["events"] if e["type"]=="sandbox_started"][0]')"

tap_done
