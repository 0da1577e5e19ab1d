# what: silent past the sniff timeout toward allowed.test's address, then GET /host with Host: exfil.attacker.example
# include: http
# expect-allowed: allowed.test dns
# expect-denied: exfil.attacker.example 80 http not_allowlisted
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 403
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the late request keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, [b"", b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"], pause=1.5))
