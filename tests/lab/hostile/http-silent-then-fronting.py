# what: silent past the sniff timeout toward allowed.test's address, then GET /host with Host: exfil.attacker.example
# include: http
# expect-allowed: allowed.test dns
# expect-denied: exfil.attacker.example 80 http not_allowlisted
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 403
import socket


def exchange(addr, port, data, timeout=10, pause=0.0):
    """Sends data (bytes, or a list of pieces sent with pause between),
    returns everything read until the peer closes or times out."""
    s = socket.create_connection((addr, port), timeout=timeout)
    out = b""
    try:
        for piece in (data if isinstance(data, list) else [data]):
            if piece:
                s.sendall(piece)
            if pause:
                import time
                time.sleep(pause)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError as e:
        out += ("<%s>" % type(e).__name__).encode()
    finally:
        s.close()
    return out


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the late request keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, [b"", b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"], pause=1.5))
