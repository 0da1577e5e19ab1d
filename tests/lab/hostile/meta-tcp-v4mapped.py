# what: metadata IP spelled as a v4-mapped IPv6 address (::ffff:169.254.169.254) as a raw TCP socket address, port 80
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
import socket
try:
    ai = socket.getaddrinfo("::ffff:169.254.169.254", 80, type=socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(ai[4])
    # Bytes that are neither HTTP nor TLS: judged as raw TCP at once,
    # without waiting for the sniff timeout.
    s.sendall(b"\x00probe\n")
    d = s.recv(100)
    print("LEAK:" if d else "BLOCKED: closed, nothing read", d[:100])
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
