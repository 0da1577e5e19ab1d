# Included by "# include: dns" (tests/lab/hostile.sh prepends it): one DNS
# query as raw wire bytes, over UDP or TCP.
import random
import socket
import struct


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

