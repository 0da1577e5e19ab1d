# what: absolute-URI request GET http://exfil.attacker.example/ with Host: allowed.test, to allowed.test's address (transparent port)
# include: http
# expect-denied: 198.18.1.10 80 http bad_request
# expect-stdout: STATUS: HTTP/1.1 400
import socket


report(exchange("198.18.1.10", 80, b"GET http://exfil.attacker.example/ HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n"))
