"""enclave: hand a structured result from inside a sandbox to sessiond.

    import enclave
    enclave.result({"ok": 1})

The result is compact JSON and a newline, written to the pipe sessiond
holds (the fd in ENCLAVE_RESULT_FD). It carries no credential and cannot
call back to the API; sessiond validates and size-caps what it reads.
"""
import json
import os

__all__ = ["result"]

_sent = False


def result(obj):
    """Send obj as the session's result; a second call raises RuntimeError."""
    global _sent
    if _sent:
        raise RuntimeError("enclave.result() may be called only once")
    # Serialize first: an object json cannot encode leaves the one call unused.
    data = (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode()
    try:
        fd = int(os.environ["ENCLAVE_RESULT_FD"])
    except (KeyError, ValueError):
        raise RuntimeError("no result channel (ENCLAVE_RESULT_FD is not set)") from None
    _sent = True
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
