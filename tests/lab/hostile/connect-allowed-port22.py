# what: CONNECT allowed.test:22 (an allowed name on a port it is not allowed on) to allowed.test's address on the transparent port
# include: http
# expect-denied: allowed.test 80 http method_not_allowed
# expect-stdout: STATUS: HTTP/1.1 405
import socket


report(exchange("198.18.1.10", 80, b"CONNECT allowed.test:22 HTTP/1.1\r\nHost: allowed.test:22\r\n\r\n"))
