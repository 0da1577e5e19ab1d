# what: plain HTTP to allowed.test's address with Host: 0xa9fea9fe (the metadata IP in hex)
# include: http
# expect-denied: 169.254.169.254 80 http blocked_range
# expect-stdout: STATUS: HTTP/1.1 403
import socket


report(exchange("198.18.1.10", 80, b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 0xa9fea9fe\r\nConnection: close\r\n\r\n"))
