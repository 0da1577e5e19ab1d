# what: IPv6 UDP datagrams to a global address (DNS port) and to the all-nodes link-local multicast group
# The session has IPv6 disabled: sends fail in the sandbox, nothing leaves.
# expect-stdout: (?s)2001:db8::53 BLOCKED.*ff02::1 BLOCKED
import socket

def try_send(addr, port):
    try:
        ai = socket.getaddrinfo(addr, port, socket.AF_INET6, socket.SOCK_DGRAM)[0]
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", ai[4])
        print(addr.split("%")[0], "SENT (the nft guard must drop it)")
    except Exception as e:
        print(addr.split("%")[0], "BLOCKED", type(e).__name__, e)

try_send("2001:db8::53", 53)
# The sandbox may not list links (no netlink): /proc/net/dev has them.
ifs = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
ifs = [n for n in ifs if n != "lo"]
try_send("ff02::1%" + (ifs[0] if ifs else "eth0"), 9)
