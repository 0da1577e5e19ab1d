# what: a 50 MiB result through enclave.result: refused with a clear result error, the session itself unharmed
# limits: {"timeout_ms": 60000}
# expect-stdout: returned .*\nstill here
import enclave
import sys

blob = "x" * (50 * 1024 * 1024)
try:
    enclave.result({"blob": blob})
    print("returned normally")
except Exception as e:
    print("returned with", type(e).__name__, e)
print("still here")
sys.stdout.flush()
