# what: metadata IP spelled as a NAT64 IPv6 address (64:ff9b::a9fe:a9fe) as an https:// URL host, with Python
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
import ssl, urllib.request
ctx = ssl._create_unverified_context()
try:
    body = urllib.request.urlopen("https://[64:ff9b::a9fe:a9fe]/latest/meta-data/", context=ctx, timeout=10).read()
    print("LEAK:", body[:200])
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
