# what: raw TCP to allowed.test on port 22 (resolved through the session's DNS first)
# expect-allowed: allowed.test dns
# expect-denied: 198.18.1.10 22 tcp unresolved_destination
# inet: allow allowed.test
# expect-stdout: ^BLOCKED
import socket

try:
    s = socket.create_connection(("allowed.test", 22), timeout=10)
    s.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")
    d = s.recv(100)
    print("LEAK:" if d else "BLOCKED: closed, nothing read", d)
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
