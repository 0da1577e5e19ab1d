# what: IPv6 TCP connects: a global address (2001:db8::1) and link-local fe80::1 on the session's link
# The session's interfaces have IPv6 disabled: no source address, so the
# kernel refuses in the sandbox and not one packet leaves.
# expect-stdout: (?s)2001:db8::1 BLOCKED.*fe80::1 BLOCKED
import socket

def try_connect(addr):
    try:
        ai = socket.getaddrinfo(addr, 80, socket.AF_INET6, socket.SOCK_STREAM)[0]
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(ai[4])
        print(addr.split("%")[0], "LEAK: connected")
    except Exception as e:
        print(addr.split("%")[0], "BLOCKED", type(e).__name__, e)

try_connect("2001:db8::1")
# The sandbox may not list links (no netlink): /proc/net/dev has them.
ifs = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
ifs = [n for n in ifs if n != "lo"]
try_connect("fe80::1%" + (ifs[0] if ifs else "eth0"))
