# what: DNS rebinding: allowed names that resolve to the metadata IP and to RFC 1918, then connects by name and by address
# egress: rebind.test private.test
# inet: allow rebind.test private.test
# expect-denied: rebind.test 53 dns resolves_to_blocked
# expect-denied: private.test 53 dns resolves_to_blocked
# expect-denied: rebind.test 80 http resolves_to_blocked
# expect-denied: private.test 80 http resolves_to_blocked
# expect-stdout: DONE 5 blocked
# The names are allowed, so proxyd asks upstream (dnsmasq sees them), but
# an answer in a blocked range is refused whole: the workload never learns
# the address, and a connect by name has nothing to go to. Connecting to
# the addresses themselves (as if learned some other way) with the allowed
# name as Host: proxyd resolves the Host itself, meets the same blocked
# answer and refuses (never connecting to the client's chosen address).
import socket

blocked = 0


def attempt(what, fn):
    global blocked
    try:
        r = fn()
    except OSError as e:
        blocked += 1
        print("BLOCKED", what, type(e).__name__, e)
        return
    print("LEAK", what, r)


def by_name(name):
    return socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)


def http_to(addr, host):
    s = socket.create_connection((addr, 80), timeout=10)
    try:
        s.sendall(("GET /latest/meta-data/ HTTP/1.1\r\nHost: %s\r\n"
                   "Connection: close\r\n\r\n" % host).encode())
        data = s.recv(4096)
    finally:
        s.close()
    if data.startswith(b"HTTP/1.1 403") or not data:
        raise ConnectionRefusedError("proxy answered %r" % data[:40])
    return data[:80]


attempt("resolve rebind.test", lambda: by_name("rebind.test"))
attempt("resolve private.test", lambda: by_name("private.test"))
attempt("connect to private.test by name",
        lambda: socket.create_connection(("private.test", 80), timeout=10))
attempt("connect to rebind.test's answer by address",
        lambda: http_to("169.254.169.254", "rebind.test"))
attempt("connect to private.test's answer by address",
        lambda: http_to("10.0.0.5", "private.test"))
print("DONE", blocked, "blocked")
