# what: metadata IP spelled as a 6to4 IPv6 address (2002:a9fe:a9fe::1) as a raw TCP socket address, port 80
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
import socket
try:
    ai = socket.getaddrinfo("2002:a9fe:a9fe::1", 80, type=socket.SOCK_STREAM)[0]
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
