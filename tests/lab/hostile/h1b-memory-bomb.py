# what: a memory bomb that grows without end in 8 MiB steps, touching every page: the memory cgroup kills it
# limits: {"memory_mb": 64, "timeout_ms": 30000}
# expect-phase: failed
# expect-stdout: \Agrowing\n\Z
# Killed by the OOM killer inside its own cgroup (failed, SIGKILL, an
# error naming the memory limit), long before the 2 GiB bound of the loop.
import sys

print("growing")
sys.stdout.flush()
hoard = []
for i in range(256):
    hoard.append(bytearray(b"\x01" * (8 * 1024 * 1024)))
print("LEAK allocated 2 GiB under a 64 MiB limit")
