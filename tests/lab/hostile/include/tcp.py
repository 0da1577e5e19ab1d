# Included by "# include: tcp" (tests/lab/hostile.sh prepends it): one raw
# TCP probe toward a socket address, whatever its spelling.
import socket


def raw_tcp(host, port):
    """Connects to host:port as getaddrinfo reads it and sends bytes that are
    neither HTTP nor TLS, so proxyd judges raw TCP at once, without waiting
    for the sniff timeout; prints BLOCKED, or LEAK with what came back."""
    try:
        ai = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(ai[4])
        s.sendall(b"\x00probe\n")
        d = s.recv(100)
        print("LEAK:" if d else "BLOCKED: closed, nothing read", d[:100])
    except Exception as e:
        print("BLOCKED:", type(e).__name__, e)

