# what: request smuggling shape on a connection to allowed.test: a NUL byte in the Host value
# include: http
# expect-denied: 198.18.1.10 80 http bad_request
# expect-stdout: STATUS: HTTP/1.1 400
import socket


report(exchange("198.18.1.10", 80, b"GET / HTTP/1.1\r\nHost: allowed.test\x00.exfil.attacker.example\r\n\r\n"))
