# what: HTTP/2 cleartext with prior knowledge (PRI * HTTP/2.0) to allowed.test's address: proxyd cannot judge its :authority, so it refuses it
# include: http
# expect-allowed: allowed.test dns
# expect-denied: 198.18.1.10 80 http bad_request
# inet: allow allowed.test
# expect-stdout: STATUS: HTTP/1.1 400
import socket


# allowed.test is resolved first: its address is then one raw TCP may
# reach, so only judging the request as HTTP keeps its Host from passing.
socket.getaddrinfo("allowed.test", 80)
# The preface, then an empty SETTINGS frame.
report(exchange("198.18.1.10", 80, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])))
