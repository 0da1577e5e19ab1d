#!/bin/bash
# tests/lab/sandbox.sh - TAP: the namespace backend's sandbox
# (sessiond/sandbox.c through tests/lab/sandbox-tool) in a session netns
# hanging off the lab: languages and result helpers, timeout, OOM, fork
# bomb, refused system calls, what the workload can see, its identity and
# environment, disk caps, its network, and that nothing is left behind.
# Re-exec under bash when run by a plain sh (automake runs `$(SHELL) t.sh`).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

top_build=${abs_top_builddir:-$(cd "$here/../.." && pwd)}
top_src=${abs_top_srcdir:-$(cd "$here/../.." && pwd)}
TOOL=${SANDBOX_TOOL:-$top_build/tests/lab/sandbox-tool}
HELPERS=${SANDBOX_HELPERS:-$top_src/sessiond/helpers}

lab_preflight
if [ ! -x "$TOOL" ]; then
	echo "1..1"
	echo "not ok 1 - sandbox-tool built ($TOOL missing; make check builds it)"
	exit 1
fi
tap_plan 45

# An id no host process uses, so "none left by that uid" means something.
SB_UID=$((300000 + RANDOM))
RUNS=()		# status.json of every run, for the leftovers checks

# sandbox_cleanup: on every exit. An interrupted tool leaves no process
# (its sandboxes die with it) but may leave its cgroups: ours carry the
# lab prefix, and an empty cgroup is all rmdir can remove.
sandbox_cleanup() {
	if [ -n "${LAB_PREFIX:-}" ]; then
		find /sys/fs/cgroup -maxdepth 6 -depth -type d \
			-name "enclave-${LAB_PREFIX}-*" -exec rmdir {} + 2>/dev/null
	fi
	if [ -n "${SESS_NS:-}" ]; then ip netns del "$SESS_NS" 2>/dev/null; fi
	lab_down
}
trap sandbox_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

lab_up || tap_bail "lab_up failed"
P=$LAB_PREFIX
SESS_NS=${P}s1
HOST_IF=${P}h1
GW=198.19.0.0
SESS_ADDR=198.19.0.1

# The session netns: eth0 with a /31 off the lab, default route via the
# lab end, IPv6 off. No nft rules: this test is about the sandbox.
{
	ip netns add "$SESS_NS" &&
	ip link add "$HOST_IF" netns "$LAB_NS" type veth peer name eth0 netns "$SESS_NS" &&
	ip -n "$LAB_NS" addr add "$GW/31" dev "$HOST_IF" &&
	ip -n "$LAB_NS" link set "$HOST_IF" up &&
	ip -n "$SESS_NS" addr add "$SESS_ADDR/31" dev eth0 &&
	ip -n "$SESS_NS" link set lo up &&
	ip -n "$SESS_NS" link set eth0 up &&
	ip -n "$SESS_NS" route add default via "$GW" &&
	ip netns exec "$SESS_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
} 2>"$LAB_DIR/session.err" || tap_bail "session netns: $(cat "$LAB_DIR/session.err")"
tap_diag "lab $P, session $SESS_NS, uid $SB_UID, tool $TOOL"

# run NAME LANG CODE [ARGS...]: run CODE (a string) in a sandbox; the
# captures and status.json land in LAB_DIR/NAME/, the tool's own output in
# LAB_DIR/NAME/tool.out. FOO_SECRET is in the tool's environment only.
run() {
	local name=$1 lang=$2 code=$3 d=$LAB_DIR/$1 rc
	shift 3
	mkdir -p "$d"
	printf '%s\n' "$code" >"$d/code"
	FOO_SECRET=eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.eyJxxx \
		timeout 60 "$TOOL" run --netns "$SESS_NS" --lang "$lang" \
		--code-file "$d/code" --uid "$SB_UID" --gid "$SB_UID" \
		--helpers "$HELPERS" --gateway "$GW" --name "$P-$name" \
		--out-dir "$d" "$@" >"$d/tool.out" 2>&1
	rc=$?
	[ -f "$d/status.json" ] && RUNS+=("$d/status.json")
	if [ "$rc" -ne 0 ]; then tap_diag "$name: tool exit $rc: $(cat "$d/tool.out")"; fi
	return "$rc"
}

# js NAME EXPR: evaluate a Python expression over status.json as `s`.
js() {
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$LAB_DIR/$1/status.json" "$2" 2>/dev/null
}

# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; tap_diag "got:  $2" "want: $3"
	fi
}

# probe NAME KEY: the value of "KEY VALUE" lines a probe script printed.
probe() {
	awk -v k="$2 " 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' \
		"$LAB_DIR/$1/stdout"
}

# --- 1. python, with enclave.result -------------------------------------
run py python 'import enclave
print("hello from python")
enclave.result({"ok": 1})
try:
    enclave.result({"ok": 2})
    print("second result accepted")
except RuntimeError:
    print("second result refused")'
expect "python: exits 0" "$(js py 's["exit_code"]')" 0
expect "python: stdout" "$(cat "$LAB_DIR/py/stdout")" \
	"$(printf 'hello from python\nsecond result refused')"
expect "python: result is compact JSON, once" "$(cat "$LAB_DIR/py/result")" '{"ok":1}'

# --- 2. sh, with enclave-result -----------------------------------------
run sh sh 'echo "hello from sh"
enclave-result '\''{"ok":2,"lang":"sh"}'\'''
expect "sh: exits 0 with stdout" "$(js sh 's["exit_code"]') $(cat "$LAB_DIR/sh/stdout")" \
	"0 hello from sh"
expect "sh: result" "$(cat "$LAB_DIR/sh/result")" '{"ok":2,"lang":"sh"}'

# --- 3. node -------------------------------------------------------------
if [ -x /usr/bin/node ]; then
	run node node 'const fs = require("fs");
console.log("hello from node");
fs.writeSync(Number(process.env.ENCLAVE_RESULT_FD), JSON.stringify({ok: 3}) + "\n");'
	expect "node: exits 0, stdout, result" \
		"$(js node 's["exit_code"]') $(cat "$LAB_DIR/node/stdout") $(cat "$LAB_DIR/node/result")" \
		'0 hello from node {"ok":3}'
else
	tap_skip "node: exits 0, stdout, result" "/usr/bin/node is not installed"
fi

# --- 4. timeout ------------------------------------------------------------
run slow python 'import time
print("started", flush=True)
time.sleep(50)
print("not reached")' --timeout-ms 1000
expect "timeout: killed by the timeout (SIGKILL)" \
	"$(js slow '(s["timed_out"], s["killed"], s["signal"], s["exit_code"])')" \
	"(True, True, 9, None)"
expect "timeout: output up to the kill kept" "$(cat "$LAB_DIR/slow/stdout")" "started"
w=$(js slow 's["wall_ms"]')
[ -n "$w" ] && [ "$w" -ge 1000 ] && [ "$w" -lt 5000 ]
tap_ok $? "timeout: wall time ${w}ms is the timeout, not the sleep"

# --- 5. memory bomb --------------------------------------------------------
run oom python 'x = []
for _ in range(4096):
    x.append(bytearray(1 << 20))
print("not reached")' --memory-mb 64
expect "memory bomb: OOM reported, workload SIGKILLed" \
	"$(js oom '(s["oom"], s["signal"])')" "(True, 9)"
p=$(js oom 's["mem_peak"]')
[ -n "$p" ] && [ "$p" -le $((64 << 20)) ] && [ "$p" -gt $((32 << 20)) ]
tap_ok $? "memory bomb: peak ${p} bytes within the 64 MiB cap"

# --- 6. fork bomb ----------------------------------------------------------
run fork python 'import os, sys, time
n = 0
try:
    while n < 5000:
        if os.fork() == 0:
            time.sleep(40)
            os._exit(0)
        n += 1
except OSError as e:
    print("forks", n)
    sys.exit(3)
print("forks", n)' --pids 32
expect "fork bomb: stopped by the pids limit (exit 3)" "$(js fork 's["exit_code"]')" 3
n=$(probe fork forks)
[ -n "$n" ] && [ "$n" -lt 32 ]
tap_ok $? "fork bomb: $n forks, fewer than 32"
# cat, not awk FILES: a process that exits between the glob and the open
# is fatal to mawk, and on a busy machine one always does.
left=$(cat /proc/[0-9]*/status 2>/dev/null |
	awk -v u="$SB_UID" '$1 == "Uid:" && $2 == u { n++ } END { print n + 0 }')
expect "fork bomb: no process of uid $SB_UID left on the host" "$left" 0

# --- 7. refused system calls -----------------------------------------------
run deny python 'import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def c(rc):
    if rc == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def t(name, f):
    try:
        f()
        print(name, "ALLOWED")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
t("unshare-user", lambda: c(libc.unshare(0x10000000)))
t("unshare-net", lambda: c(libc.unshare(0x40000000)))
NR_CLONE = {"x86_64": 56, "aarch64": 220}[os.uname().machine]
t("clone-newuser", lambda: c(libc.syscall(NR_CLONE, 0x10000000 | 17, 0, 0, 0, 0)))
t("mount", lambda: c(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
t("setns", lambda: c(libc.setns(os.open("/proc/self/ns/net", os.O_RDONLY), 0)))
t("ptrace", lambda: c(libc.ptrace(16, 1, 0, 0)))
t("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
t("packet", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
t("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
t("chroot", lambda: os.chroot("/tmp"))
t("mknod", lambda: os.mknod("/tmp/null", 0o20666, os.makedev(1, 3)))
t("tcp", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())'
for what in unshare-user unshare-net clone-newuser mount setns ptrace raw packet netlink chroot mknod; do
	expect "refused with EPERM: $what" "$(probe deny "$what")" EPERM
done
expect "ordinary TCP sockets still work" "$(probe deny tcp)" ALLOWED

# --- 8. what the workload sees ---------------------------------------------
run view python 'import os
def read(p):
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError as e:
        return e.__class__.__name__
st = open("/proc/1/status").read().split("\n")
print("init", st[0].split()[1], read("/proc/1/cmdline").split(b"\0")[0].decode())
print("init-environ", read("/proc/1/environ") if isinstance(read("/proc/1/environ"), str) else "READABLE")
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("hidden", " ".join(p for p in ("/run", "/root", "/home", "/var", "/sys", "/boot", "/work") if os.path.exists(p)) or "all")
print("root", " ".join(sorted(os.listdir("/"))))
for p in ("/usr/enclave-test", "/etc/enclave-test"):
    try:
        open(p, "w")
        print("write", p, "ALLOWED")
    except OSError as e:
        print("write", p, e.strerror)
print("dev", " ".join(sorted(os.listdir("/dev"))))'
expect "/proc/1 is the sandbox's init" "$(probe view init)" "enclave-init enclave-init"
expect "/proc/1/environ is not readable" "$(probe view init-environ)" PermissionError
expect "only the sandbox's processes are visible" "$(probe view pids)" "[1, 2]"
expect "/run, /root, /home, /var, /sys not visible" "$(probe view hidden)" all
expect "the root holds only the sandbox's tree" "$(probe view root)" \
	"bin dev etc lib lib32 lib64 opt proc sbin tmp usr workspace"
expect "/usr is read-only" "$(probe view "write /usr/enclave-test")" \
	"Read-only file system"
expect "/dev holds only null, zero, random, urandom (+ fd links)" "$(probe view dev)" \
	"fd null random stderr stdin stdout urandom zero"

# --- 9. identity -------------------------------------------------------------
run id python 'for l in open("/proc/self/status"):
    k, _, v = l.partition(":")
    if k in ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
        print(k, " ".join(v.split()))'
expect "uid is the unprivileged id" "$(probe id Uid)" "$SB_UID $SB_UID $SB_UID $SB_UID"
expect "gid is the unprivileged id, no groups" "$(probe id Gid)|$(probe id Groups)" \
	"$SB_UID $SB_UID $SB_UID $SB_UID|"
expect "no capabilities at all" \
	"$(probe id CapEff) $(probe id CapPrm) $(probe id CapBnd) $(probe id CapAmb)" \
	"0000000000000000 0000000000000000 0000000000000000 0000000000000000"
expect "no_new_privs and a seccomp filter" "$(probe id NoNewPrivs) $(probe id Seccomp)" "1 2"

# --- 10. environment -------------------------------------------------------
run env python 'import os
print("env", " ".join(sorted(os.environ)))
print("secret", "FOUND" if any("eyJ" in v or "SECRET" in k for k, v in os.environ.items()) else "absent")
print("self-environ", "FOUND" if b"eyJ" in open("/proc/self/environ", "rb").read() else "absent")'
expect "the tool's FOO_SECRET is not in the workload's env" \
	"$(probe env secret) $(probe env self-environ)" "absent absent"
expect "the env is the fixed minimal set" "$(probe env env)" \
	"CURL_CA_BUNDLE ENCLAVE_RESULT_FD GIT_SSL_CAINFO HOME LANG NODE_EXTRA_CA_CERTS NODE_PATH PATH PYTHONDONTWRITEBYTECODE PYTHONPATH REQUESTS_CA_BUNDLE SSL_CERT_FILE TMPDIR"

# --- 11. disk caps ---------------------------------------------------------
run fill python 'import errno
n = 0
try:
    with open("/workspace/fill", "wb") as f:
        while n < 256:
            f.write(b"x" * (1 << 20))
            f.flush()
            n += 1
    print("stop none", n)
except OSError as e:
    print("stop", errno.errorcode[e.errno], n)' --workspace-mb 16
s=$(probe fill stop)
case "$s" in
"ENOSPC "* | "EFBIG "*) [ "${s#* }" -le 16 ] ;;
*) false ;;
esac
tap_ok $? "a 16 MiB workspace fills up and stops ($s)"

# --- 12. network -----------------------------------------------------------
run net python 'print("ifs", " ".join(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])))
for l in open("/proc/net/route").readlines()[1:]:
    f = l.split()
    if f[1] == "00000000":
        g = bytes.fromhex(f[2])[::-1]
        print("gw", ".".join(str(b) for b in g))
print("resolv", open("/etc/resolv.conf").read().strip())'
expect "the sandbox sees the session netns: lo and eth0 only" "$(probe net ifs)" "eth0 lo"
expect "default route via the session gateway" "$(probe net gw)" "$GW"
expect "resolv.conf names the gateway" "$(probe net resolv)" "nameserver $GW"

# --- setup failures are reported, and unwound ---------------------------------
: >"/run/netns/${P}bogus"
d=$LAB_DIR/bogus
mkdir -p "$d" && echo 'print(1)' >"$d/code"
out=$(timeout 20 "$TOOL" run --netns "${P}bogus" --lang python --code-file "$d/code" \
	--uid "$SB_UID" --gid "$SB_UID" --name "$P-bogus" 2>&1)
rc=$?
rm -f "/run/netns/${P}bogus"
expect "a failing setup step is reported with its errno" "$rc|$out" \
	"1|sandbox-tool: setns /run/netns/${P}bogus: Invalid argument"

# --- 13. nothing left behind -----------------------------------------------------
left=""
n=0
for f in "${RUNS[@]}"; do
	n=$((n + 1))
	for cg in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["cgroups"]))' "$f"); do
		[ -e "$cg" ] && left="$left cgroup:$cg"
	done
	for pid in $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(" ".join(map(str, s["pids"] + [s["init_pid"]])))' "$f"); do
		[ -e "/proc/$pid" ] && [ "$(stat -L -c %i "/proc/$pid/ns/mnt" 2>/dev/null)" = \
			"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mnt_ns"])' "$f")" ] &&
			left="$left pid:$pid"
	done
done
stray=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "enclave-$P-*" 2>/dev/null)
[ -n "$stray" ] && left="$left $stray"
# Any process still running as the sandboxes' uid? (Mount namespace
# inode numbers are reused once freed, so a scan by inode would also find
# other tests' fresh namespaces; the uid is unique to this run.)
for p in /proc/[0-9]*; do
	u=$(awk '/^Uid:/ { print $2; exit }' "$p/status" 2>/dev/null) || continue
	[ "$u" = "$SB_UID" ] && left="$left uid:${p#/proc/}"
done
grep -Eq ' (/workspace|/oldroot|/opt/enclave) ' /proc/self/mountinfo && left="$left host-mounts"
expect "after $n runs: no cgroup, process, mount namespace or mount left" "${left:-none}" none

tap_done
