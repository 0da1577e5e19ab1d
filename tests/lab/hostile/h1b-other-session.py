# what: reaching other sessions' addresses in the session pool (198.19.0.0/16) by TCP, HTTP and UDP
# expect-denied: 198.19.254.1 22 tcp blocked_range
# expect-denied: 198.19.254.0 15001 tcp blocked_range
# expect-denied: 198.19.254.1 80 http blocked_range
# expect-denied: 198.19.254.1 7 udp protocol_not_allowed
# expect-stdout: DONE 4 blocked
# No packet from a session is ever routed: TCP to another session's
# address goes into proxyd like everything else and is refused: the
# session pool is a blocked range (the lab exempts only 198.18.0.0/16, the
# fake internet); UDP is dropped and audited. Addresses far up the pool, so
# that they are never this session's own. hostile-flood.sh does the same against a live session.
import socket

blocked = 0
for what, addr, send in [
        ("raw TCP (ssh port)", ("198.19.254.1", 22), b"SSH-2.0-x\r\n"),
        ("proxyd's port on a session's gateway", ("198.19.254.0", 15001), b"\x00probe\r\n"),
        ("HTTP by address", ("198.19.254.1", 80),
         b"GET / HTTP/1.1\r\nHost: 198.19.254.1\r\nConnection: close\r\n\r\n")]:
    try:
        s = socket.create_connection(addr, timeout=10)
        s.sendall(send)
        data = s.recv(4096)
        s.close()
    except OSError as e:
        blocked += 1
        print("BLOCKED", what, type(e).__name__)
        continue
    if data.startswith(b"HTTP/1.1 403 ") or not data:
        blocked += 1
        print("BLOCKED", what, data[:12])
    else:
        print("LEAK", what, data[:60])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
try:
    s.sendto(b"echo?", ("198.19.254.1", 7))
    s.recvfrom(100)
    print("LEAK UDP echo answered")
except OSError as e:
    blocked += 1
    print("BLOCKED UDP", type(e).__name__)
print("DONE", blocked, "blocked")
