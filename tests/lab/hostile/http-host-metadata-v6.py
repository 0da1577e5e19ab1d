# what: plain HTTP to allowed.test's address with Host: [::ffff:a9fe:a9fe] (the metadata IP, v4-mapped, in hex)
# include: http
# expect-denied: ::ffff:169.254.169.254 80 http blocked_range
# expect-stdout: STATUS: HTTP/1.1 403
import socket


report(exchange("198.18.1.10", 80, b"GET /latest/meta-data/ HTTP/1.1\r\nHost: [::ffff:a9fe:a9fe]\r\nConnection: close\r\n\r\n"))
