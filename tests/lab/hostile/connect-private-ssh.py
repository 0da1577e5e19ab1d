# what: CONNECT 10.0.0.5:22 sent to allowed.test's address on the transparent port
# include: http
# expect-denied: 10.0.0.5 80 http method_not_allowed
# expect-stdout: STATUS: HTTP/1.1 405
import socket


report(exchange("198.18.1.10", 80, b"CONNECT 10.0.0.5:22 HTTP/1.1\r\nHost: 10.0.0.5:22\r\n\r\n"))
