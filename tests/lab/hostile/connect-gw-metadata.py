# what: the gateway as an explicit proxy (HTTP_PROXY=gateway:3128): CONNECT 169.254.169.254:80
# include: http
# expect-denied: 169.254.169.254 80 http blocked_range
# expect-stdout: STATUS: HTTP/1.1 403
import socket


gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
print("GATEWAY:", gw)
report(exchange(gw, 3128, b"CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n"))
