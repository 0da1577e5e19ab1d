# what: TLS to allowed.test with SNI allowed.test but Host: exfil.attacker.example inside: it can only reach allowed.test's server
# expect-allowed: allowed.test dns
# expect-allowed: allowed.test tls
# inet: allow allowed.test
# expect-stdout: ANSWER:
import socket, ssl

ctx = ssl._create_unverified_context()
try:
    raw = socket.create_connection(("allowed.test", 443), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="allowed.test")
    s.sendall(b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    text = out.decode("latin-1")
    if "hello from exfil" in text:
        print("LEAK:", text[-200:])
    print("ANSWER:", text.split("\r\n", 1)[0], "|", text.split("\r\n\r\n", 1)[-1].strip()[:200])
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
