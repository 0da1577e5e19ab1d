#!/usr/bin/env bash
# bench/sessions.sh - session start latency per backend, for bench/run
# --with-sessions. Boots a whole appliance with `enclavectl lab up` (lab
# namespaces only: tests/lab/lib.sh's rules), then for every available
# backend creates sessions one after another, each running a trivial sh
# workload that returns a result, and times:
#
#   create → running   sandbox_started's audit timestamp minus
#                      session_created's (sessiond's own clock, ms)
#   create → result    the client's wall time of POST /v1/sessions with
#                      "wait": true, until the answer carries the result
#
# usage: sessions.sh OUT.tsv RUN_INDEX SAMPLES SECONDS
# Appends "RUN\tsessions\t<backend>.<figure>\tVALUE" lines to OUT.tsv;
# at most SAMPLES sessions and SECONDS seconds per backend. Exit 1 on a
# harness error (the lab won't come up, a session fails).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${abs_top_builddir:-$src}
CTL=$build/ctl/enclavectl
export ENCLAVE_BUILDDIR=$build
export ENCLAVE_LAB_SCRIPT=${abs_top_srcdir:-$src}/ctl/enclave-lab

OUTF=$1 RUN_I=$2 SAMPLES=$3 SECS=$4
[ -x "$CTL" ] && [ -x "$build/sessiond/enclave-sessiond" ] ||
	{ echo "sessions: enclavectl/enclave-sessiond not built in $build" >&2; exit 1; }

NAME=b$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
T=$(mktemp -d /tmp/enclave-bench-sessions.XXXXXX) || exit 1
cleanup() {
	"$CTL" lab down "$NAME" >/dev/null 2>&1
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! "$CTL" lab up --name "$NAME" >"$T/up.out" 2>"$T/up.err"; then
	echo "sessions: enclavectl lab up failed: $(tail -5 "$T/up.err")" >&2
	exit 1
fi
S=$(sed -n 's/^ENCLAVE_SOCKET=//p' "$T/up.out")
api() { # METHOD PATH [BODYFILE] -> body in $T/body, prints "code seconds"
	curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 60 \
		--unix-socket "$S" -X "$1" ${3:+--data-binary "@$3"} "http://sessiond$2"
}
js() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$T/body"; }

read -r code _ <<<"$(api GET /v1/backends)"
[ "$code" = 200 ] || { echo "sessions: GET /v1/backends -> $code" >&2; exit 1; }
mapfile -t BACKENDS < <(js '"\n".join(b["name"] for b in d["backends"] if b["available"])' | sed '/^$/d')
[ "${#BACKENDS[@]}" -ge 1 ] || { echo "sessions: no backend available" >&2; exit 1; }

rc=0
for b in "${BACKENDS[@]}"; do
	python3 -c 'import json,sys
print(json.dumps({"language":"sh","backend":sys.argv[1],"wait":True,
 "code":"enclave-result '"'"'{\"ok\":1}'"'"'","egress":{"allow":["allowed.test"]}}))' "$b" >"$T/req"
	: >"$T/running" ; : >"$T/result"
	end=$(( $(date +%s) + SECS ))
	n=0
	while [ "$n" -lt "$SAMPLES" ] && [ "$(date +%s)" -lt "$end" ]; do
		read -r code secs <<<"$(api POST /v1/sessions "$T/req")"
		if [ "$code" != 201 ] || [ "$(js 'd.get("result")')" != "{'ok': 1}" ]; then
			echo "sessions: $b: POST -> $code $(head -c 300 "$T/body")" >&2
			rc=1
			break
		fi
		id=$(js 'd["id"]')
		echo "$secs" >>"$T/result"
		api GET "/v1/sessions/$id/audit" >/dev/null
		js '(lambda ts: (ts["sandbox_started"] - ts["session_created"]) * 1000)({e["type"]: __import__("datetime").datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for e in d["events"]})' \
			>>"$T/running" 2>/dev/null || { echo "sessions: $b: no start events" >&2; rc=1; break; }
		api DELETE "/v1/sessions/$id" >/dev/null
		n=$((n + 1))
	done
	[ "$n" -ge 1 ] || continue
	python3 - "$T/running" "$T/result" "$b" "$RUN_I" >>"$OUTF" <<'PY'
import sys
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]
run_ms = [float(x) for x in open(sys.argv[1]) if x.strip()]
res_ms = [float(x) * 1000 for x in open(sys.argv[2]) if x.strip()]
b, r = sys.argv[3], sys.argv[4]
for name, v in (("running", run_ms), ("result", res_ms)):
    print(f"{r}\tsessions\t{b}.{name}_p50_ms\t{pct(v, 50):.1f}")
    print(f"{r}\tsessions\t{b}.{name}_p99_ms\t{pct(v, 99):.1f}")
print(f"{r}\tsessions\t{b}.samples\t{len(res_ms)}")
PY
done
exit $rc
