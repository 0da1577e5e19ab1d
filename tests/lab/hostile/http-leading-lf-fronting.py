# what: a bare LF, then BREW /host with bare-LF lines and Host: exfil.attacker.example, to allowed.test's address
# include: http
# expect-allowed: allowed.test dns
# expect-denied: 198.18.1.10 80 http bad_request
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 400
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the request as HTTP keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, b"\nBREW /host HTTP/1.1\nHost: exfil.attacker.example\nConnection: close\n\n"))
