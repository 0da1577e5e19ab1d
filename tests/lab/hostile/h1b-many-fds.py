# what: exhausting file descriptors: files, pipes and sockets until EMFILE; the limit holds and the workload carries on
# expect-stdout: EMFILE after ([1-9][0-9]|1[0-9][0-9]|2[0-5][0-9]) descriptors\nclosed all, opening again works\n
# RLIMIT_NOFILE is 256 in the sandbox (and it cannot raise it: the hard
# limit is the same). Bounded at 100000 tries whatever happens.
import errno
import os
import resource
import socket

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
print("nofile", soft, hard)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard * 4, hard * 4))
    print("LEAK raised RLIMIT_NOFILE to", hard * 4)
except (ValueError, OSError) as e:
    print("BLOCKED raising the limit:", type(e).__name__)
held = []
n = 0
try:
    for i in range(100000):
        k = i % 3
        if k == 0:
            held.append(open("/dev/null"))
        elif k == 1:
            r, w = os.pipe()
            held += [r, w]
        else:
            held.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        n = len(os.listdir("/proc/self/fd"))
except OSError as e:
    if e.errno == errno.EMFILE:
        print("EMFILE after %d descriptors" % n)
    else:
        print("FAIL", e)
for h in held:
    if isinstance(h, int):
        os.close(h)
    else:
        h.close()
with open("/dev/null") as f:
    print("closed all, opening again works")
