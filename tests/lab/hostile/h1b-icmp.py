# what: ICMP echo from the sandbox: an unprivileged ping socket and a raw socket toward the attacker's address
# expect-stdout: DONE 2 refused
# On the namespace backend the workload may not even open either socket:
# ping sockets are off in the session netns (net.ipv4.ping_group_range is
# "1 0": EACCES) and a raw socket needs CAP_NET_RAW (EPERM), so no packet
# is built and there is nothing to audit. (Had one been sent, the table
# would drop and audit it as protocol_not_allowed; no line expects that.)
import errno
import socket

ECHO = b"\x08\x00\xf7\xfe\x00\x01\x00\x00"      # type 8, checksum, id 1, seq 0
refused = 0
for what, kind in [("ping socket", socket.SOCK_DGRAM), ("raw socket", socket.SOCK_RAW)]:
    try:
        s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            refused += 1
            print("BLOCKED", what, errno.errorcode[e.errno])
        else:
            print("FAIL", what, e)
        continue
    s.settimeout(1.5)
    try:
        s.sendto(ECHO, ("198.18.1.66", 0))
        s.recvfrom(2048)
        print("LEAK", what, "an echo reply")
    except OSError as e:
        print("SENT", what, "no reply:", type(e).__name__)
    finally:
        s.close()
print("DONE", refused, "refused")
