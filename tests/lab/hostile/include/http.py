# Included by "# include: http" (tests/lab/hostile.sh prepends it): one
# raw exchange with a server, and a report of what came back.
import socket


def exchange(addr, port, data, timeout=10, pause=0.0):
    """Sends data (bytes, or a list of pieces sent with pause between; an
    empty piece sends nothing: silence for one pause), returns everything read until the peer closes or times out."""
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


def report(out):
    """One line per response status and per lab page seen, then the tail."""
    import re
    text = out.decode("latin-1")
    for m in re.finditer(r"HTTP/1\.[01] [0-9]{3}[^\r\n]*|hello from \S+", text):
        print("STATUS:" if m.group(0).startswith("HTTP/") else "PAGE:", m.group(0))
        if m.group(0).startswith("hello from") and m.group(0) != "hello from allowed.test":
            print("LEAK:", m.group(0))
    print("TAIL:", text[-300:].replace("\r\n", " | ").replace("\n", " | "))

