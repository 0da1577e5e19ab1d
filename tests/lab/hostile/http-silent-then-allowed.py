# what: control: silent past the sniff timeout toward allowed.test's address, then GET / for allowed.test works
# include: http
# expect-allowed: allowed.test dns
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 200 OK\nPAGE: hello from allowed.test
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the late request keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
report(exchange("198.18.1.10", 80, [b"", b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n"], pause=1.5))
