# Included by "# include: tls" (tests/lab/hostile.sh prepends it): one
# HTTPS request with a chosen SNI toward a chosen address.
import socket
import ssl


def tls_get(addr, sni, request):
    """Sends request over TLS to addr:443 with sni, certificate unchecked;
    returns the answer as text (printing LEAK if exfil's server gave it),
    or None after printing BLOCKED."""
    ctx = ssl._create_unverified_context()
    try:
        raw = socket.create_connection((addr, 443), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=sni)
        s.sendall(request)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
        text = out.decode("latin-1")
        if "hello from exfil" in text:
            print("LEAK:", text[-200:])
        return text
    except Exception as e:
        print("BLOCKED:", type(e).__name__, e)
        return None

