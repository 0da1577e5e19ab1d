# what: the gateway as an explicit proxy: CONNECT allowed.test:22, an allowed name on a port it is not allowed on
# include: http
# expect-denied: allowed.test 22 http not_allowlisted
# expect-stdout: STATUS: HTTP/1.1 403
import socket


gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
print("GATEWAY:", gw)
report(exchange(gw, 3128, b"CONNECT allowed.test:22 HTTP/1.1\r\nHost: allowed.test:22\r\n\r\n"))
