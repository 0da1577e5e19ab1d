# what: CONNECT 169.254.169.254:80 sent to allowed.test's address on the transparent port
# include: http
# expect-denied: 169.254.169.254 80 http method_not_allowed
# expect-stdout: STATUS: HTTP/1.1 405
import socket


report(exchange("198.18.1.10", 80, b"CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n"))
