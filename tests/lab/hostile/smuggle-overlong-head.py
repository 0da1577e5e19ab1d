# what: request smuggling shape on a connection to allowed.test: a 64 KiB request head
# include: http
# expect-denied: 198.18.1.10 80 http bad_request
# expect-stdout: STATUS: HTTP/1.1 431
import socket


report(exchange("198.18.1.10", 80, b"GET / HTTP/1.1\r\nHost: allowed.test\r\n" + b"X-Pad: " + b"a" * 65536 + b"\r\n\r\n"))
