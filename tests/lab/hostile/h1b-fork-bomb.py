# what: a fork bomb that never gives up (every process forks again, retrying when refused) under a small pids limit: contained, then killed whole at the timeout
# limits: {"pids": 32, "timeout_ms": 4000}
# expect-phase: timed_out
# expect-stdout: \Abombing\n\Z
# The pids cgroup holds it at 32 tasks (fork fails with EAGAIN, and the
# bomb retries forever), so it can only end by the timeout, which kills
# the whole sandbox: no LEAK line can ever be printed. The rest of the
# corpus runs on the same appliance afterwards: the host and sessiond came
# through it.
import os
import sys
import time

print("bombing")
sys.stdout.flush()
os.close(1)
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.001)
