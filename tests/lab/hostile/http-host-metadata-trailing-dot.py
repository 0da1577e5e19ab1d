# what: plain HTTP to allowed.test's address with Host: 169.254.169.254. (the metadata IP with a trailing dot)
# include: http
# expect-denied: 169.254.169.254 80 http invalid_host
# expect-stdout: STATUS: HTTP/1.1 403
import socket


report(exchange("198.18.1.10", 80, b"GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254.\r\nConnection: close\r\n\r\n"))
