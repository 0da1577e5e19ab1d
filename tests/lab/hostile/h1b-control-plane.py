# what: reaching the control plane: sessiond's and proxyd's unix sockets by path, the metrics port, the explicit-proxy port, proxyd's own port and the TCP API on the lab host, by raw TCP, HTTP and CONNECT
# expect-denied: 198.18.0.1 9464 tcp unresolved_destination
# expect-denied: 198.18.0.1 3128 tcp unresolved_destination
# expect-denied: 198.18.0.1 15001 tcp unresolved_destination
# expect-denied: 198.18.0.1 8080 tcp unresolved_destination
# expect-denied: 198.18.0.1 5353 tcp unresolved_destination
# expect-denied: 127.0.0.1 9464 http blocked_range
# expect-denied: 127.0.0.1 3128 http method_not_allowed
# expect-denied: 198.18.0.1 3128 http unresolved_destination
# expect-stdout: DONE 12 blocked
# The daemons' sockets live in the lab's files and netns, which the
# sandbox has no view of: the paths do not exist in it. Its own loopback
# has nothing listening (metrics are in the lab netns). Every TCP
# connection toward the lab host is redirected into proxyd's transparent
# port and judged like any other: an address proxyd never resolved for
# the session (unresolved_destination, also for an absolute URI naming
# the explicit port), a loopback Host (blocked_range), CONNECT on the
# transparent port (405, method_not_allowed: the explicit port is not
# reachable from a session at all). Nothing reaches the metrics, the
# explicit port or the API.
import socket

blocked = 0


def report(what, ok, detail):
    global blocked
    if ok:
        blocked += 1
        print("BLOCKED", what, detail)
    else:
        print("LEAK", what, detail)


for path in ["@SESSIOND_SOCK@", "@PROXYD_SOCK@", "/run/enclave/sessiond.sock"]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3)
    try:
        s.connect(path)
        s.sendall(b"GET /v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n")
        report("unix " + path, False, s.recv(100))
    except OSError as e:
        report("unix socket", True, type(e).__name__)
    finally:
        s.close()


def tcp(what, addr, send, want_403=False):
    try:
        s = socket.create_connection(addr, timeout=10)
    except OSError as e:
        report(what, True, type(e).__name__)
        return
    try:
        s.sendall(send)
        data = s.recv(4096)
    except OSError as e:
        report(what, True, type(e).__name__)
        return
    finally:
        s.close()
    if want_403 and (data.startswith(b"HTTP/1.1 403 ") or
                     data.startswith(b"HTTP/1.1 405 ")):
        reason = [l for l in data.split(b"\r\n") if l.startswith(b"X-Enclave-Reason")]
        report(what, True, data[9:12] + b" " + b"".join(reason))
    else:
        report(what, not data, data[:80])


RAW = b"\x00\x01raw probe\r\n\r\n"
tcp("own loopback metrics", ("127.0.0.1", 9464), b"GET /metrics HTTP/1.1\r\n\r\n")
for port in (9464, 3128, 15001, 8080, 5353):
    tcp("raw TCP to 198.18.0.1:%d" % port, ("198.18.0.1", port), RAW)
tcp("HTTP metrics with a loopback Host", ("198.18.0.1", 9464),
    b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nConnection: close\r\n\r\n", True)
tcp("CONNECT to loopback metrics", ("198.18.0.1", 3128),
    b"CONNECT 127.0.0.1:9464 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n\r\n", True)
tcp("absolute-URI request to the explicit port", ("198.18.0.1", 3128),
    b"GET http://198.18.0.1:3128/ HTTP/1.1\r\nHost: 198.18.0.1:3128\r\n\r\n", True)
print("DONE", blocked, "blocked")
