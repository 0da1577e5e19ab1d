# what: TLS to allowed.test's address with SNI 0xa9fea9fe (the metadata IP in hex, which TLS clients send as a name)
# expect-denied: 169.254.169.254 443 tls blocked_range
# expect-stdout: ^BLOCKED: .*ACCESS_DENIED
import socket, ssl

try:
    raw = socket.create_connection(("198.18.1.10", 443), timeout=10)
    s = ssl._create_unverified_context().wrap_socket(raw, server_hostname="0xa9fea9fe")
    s.sendall(b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 0xa9fea9fe\r\nConnection: close\r\n\r\n")
    print("LEAK:", s.recv(300))
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
