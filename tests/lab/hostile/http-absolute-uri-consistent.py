# what: absolute-URI request GET http://exfil.attacker.example/ with a matching Host, to allowed.test's address: judged on the target
# include: http
# expect-denied: exfil.attacker.example 80 http not_allowlisted
# expect-stdout: STATUS: HTTP/1.1 403
import socket


report(exchange("198.18.1.10", 80, b"GET http://exfil.attacker.example/ HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"))
