# what: two pipelined requests in one write, Host allowed.test then Host exfil.attacker.example
# include: http
# expect-allowed: allowed.test http
# expect-denied: exfil.attacker.example 80 http host_changed
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 OK\nPAGE: hello from allowed.test\nSTATUS: HTTP/1.1 403 Forbidden
import socket


report(exchange("198.18.1.10", 80, b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"))
