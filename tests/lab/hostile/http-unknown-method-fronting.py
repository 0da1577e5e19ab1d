# what: a method proxyd has no name for (BREW /host) with Host: exfil.attacker.example to allowed.test's address: judged as HTTP, not spliced as raw TCP
# include: http
# expect-allowed: allowed.test dns
# expect-denied: exfil.attacker.example 80 http not_allowlisted
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 403
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the request as HTTP keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, b"BREW /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n"))
