# what: two empty lines, then GET /host with Host: exfil.attacker.example, to allowed.test's address (nginx skips them; proxyd refuses)
# include: http
# expect-allowed: allowed.test dns
# expect-denied: 198.18.1.10 80 http bad_request
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 400
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the request as HTTP keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, b"\r\n\r\nGET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"))
