# what: reading host secrets from the sandbox: the host init's environ and cmdline, the daemons' configs, the interception CA key, the brokered token, /etc/shadow, /root, the host's netns and run files
# backends: all
# expect-stdout: DONE 13 blocked
# Each path is either absent from the sandbox's view, unreadable, or (for
# /proc/1) the sandbox's own init, never the host's: the markers of the
# host side (the lab dir's name, "enclave-sessiond", "enclave-proxyd",
# "BEGIN ... PRIVATE KEY", a JWT) must appear in nothing it reads.
import glob
import os
import re

LAB = "@LAB_DIR@"
MARKERS = [re.escape(os.path.basename(LAB)).encode(), b"enclave-sessiond",
           b"enclave-proxyd", b"PRIVATE KEY", rb"eyJ[A-Za-z0-9_-]{8,}\.",
           rb"ghs_[0-9a-f]{20}", rb"lak_[0-9a-f]{20}", rb"root:\$"]
blocked = 0


def check(what, path):
    global blocked
    try:
        if os.path.isdir(path):
            data = "\n".join(os.listdir(path)).encode()
        else:
            with open(path, "rb") as f:
                data = f.read(1 << 20)
    except OSError as e:
        blocked += 1
        print("BLOCKED", what, type(e).__name__)
        return
    hits = [m for m in MARKERS if re.search(m, data)]
    if hits:
        print("LEAK", what, hits[0])
    else:
        blocked += 1
        print("BLOCKED", what, "(readable, but holds nothing of the host's: %d bytes)" % len(data))


check("/proc/1/environ", "/proc/1/environ")
check("/proc/1/cmdline", "/proc/1/cmdline")
for name in ["proxyd.conf", "sessiond.conf", "intercept-ca.key", "secrets/demo-token",
             "services/git-token", "services/api-key", "tls/ca.key"]:
    check("lab " + name, LAB + "/" + name)
check("/etc/shadow", "/etc/shadow")
check("/root", "/root")
check("/run/netns", "/run/netns")
# Every process the sandbox can see: none may be a daemon of the host.
seen = b""
for p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        with open(p, "rb") as f:
            seen += f.read() + b"\n"
    except OSError:
        pass
check_hits = [m for m in MARKERS if re.search(m, seen)]
if check_hits:
    print("LEAK a host process is visible", check_hits[0])
else:
    blocked += 1
    print("BLOCKED no host process in /proc (%d visible)" % len(glob.glob("/proc/[0-9]*")))
print("DONE", blocked, "blocked")
