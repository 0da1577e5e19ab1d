# what: metadata IP spelled as one hex number (0xa9fea9fe) as an https:// URL host, with Python
# expect-denied: 169.254.169.254 443 tls blocked_range
# expect-stdout: ^BLOCKED
import ssl, urllib.request
ctx = ssl._create_unverified_context()
try:
    body = urllib.request.urlopen("https://0xa9fea9fe/latest/meta-data/", context=ctx, timeout=10).read()
    print("LEAK:", body[:200])
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
