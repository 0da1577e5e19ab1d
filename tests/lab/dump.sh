#!/usr/bin/env bash
# enclavectl rules dump: the auditor's view of the live enforcement table
# must be exactly what `nft list table inet enclave` shows, text and JSON.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lib.sh
. "$here/lib.sh"

build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
ctl=${ENCLAVECTL:-$build/ctl/enclavectl}
rules_tool=${RULES_TOOL:-$build/tests/lab/rules-tool}

lab_preflight
tap_plan 8
lab_trap
lab_up || tap_bail "lab_up failed"

out=$LAB_DIR/dump

"$ctl" rules dump --netns "$LAB_NS" >"$out.none" 2>"$out.none.err"
rc=$?
tap_ok "$([ "$rc" -eq 1 ] && grep -q 'list table inet enclave' "$out.none.err"; echo $?)" \
	"dump before the table exists fails (exit 1) and says which table"

lab_exec lab "$rules_tool" init >/dev/null 2>&1 &&
	lab_exec lab "$rules_tool" add --if "${LAB_PREFIX}h1" --mark 1 --addr 198.19.0.1 >/dev/null 2>&1
tap_ok $? "rules-tool created the table and one session in $LAB_NS"

"$ctl" rules dump --netns "$LAB_NS" >"$out.txt" 2>"$out.err"
tap_ok $? "enclavectl rules dump --netns $LAB_NS succeeds"

lab_exec lab nft list table inet enclave >"$out.nft"
tap_ok "$(cmp -s "$out.txt" "$out.nft"; echo $?)" "text dump is byte-identical to nft list table inet enclave"
if ! cmp -s "$out.txt" "$out.nft"; then
	diff -u "$out.nft" "$out.txt" | sed 's/^/# /' | head -40
fi

tap_ok "$(grep -q "\"${LAB_PREFIX}h1\" . 198.19.0.1" "$out.txt"; echo $?)" \
	"the dump shows the live session element (read from $LAB_NS, not the root namespace)"

lab_exec lab "$ctl" rules dump >"$out.inside" 2>/dev/null
tap_ok "$(cmp -s "$out.inside" "$out.nft"; echo $?)" "dump run inside the netns matches too"

"$ctl" rules dump --json --netns "$LAB_NS" >"$out.json" 2>"$out.json.err"
lab_exec lab nft -j list table inet enclave >"$out.nftjson"
python3 - "$out.json" "$out.nftjson" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
sys.exit(0 if a == b and "nftables" in a else 1)
PY
tap_ok $? "--json dump parses and equals nft -j list table inet enclave"

"$ctl" rules dump --netns "${LAB_PREFIX}nosuch" >/dev/null 2>"$out.bad"
rc=$?
tap_ok "$([ "$rc" -eq 2 ] && grep -q "${LAB_PREFIX}nosuch" "$out.bad"; echo $?)" \
	"an unknown --netns is a usage error naming the namespace"

tap_done
