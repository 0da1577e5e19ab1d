# what: HTTP to exfil.attacker.example's address on port 8080 with Host: allowed.test (the Host's port is not the connection's)
# include: http
# expect-denied: allowed.test 8080 http host_port_mismatch
# expect-stdout: STATUS: HTTP/1.1 403
import socket


report(exchange("198.18.1.66", 8080, b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n"))
