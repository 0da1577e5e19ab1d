# what: plain HTTP to exfil.attacker.example's address (198.18.1.66) with Host: allowed.test: proxyd connects where IT resolved allowed.test
# include: http
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: PAGE: hello from allowed.test
import socket


report(exchange("198.18.1.66", 80, b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n"))
