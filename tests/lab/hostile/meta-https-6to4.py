# what: metadata IP spelled as a 6to4 IPv6 address (2002:a9fe:a9fe::1) as an https:// URL host, with Python
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
import ssl, urllib.request
ctx = ssl._create_unverified_context()
try:
    body = urllib.request.urlopen("https://[2002:a9fe:a9fe::1]/latest/meta-data/", context=ctx, timeout=10).read()
    print("LEAK:", body[:200])
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
