# what: 1 GiB written to stdout and to stderr: each capped at output_bytes, the session ends normally
# limits: {"output_bytes": 4096, "timeout_ms": 120000}
# expect-stdout: \Ax{4096}\Z
# The writer is never blocked or killed for it: sessiond keeps reading and
# drops what is over the cap (flagged stdout_truncated), so the whole GiB
# goes through and the workload exits 0. hostile-flood.sh checks the flags.
head -c 1073741824 /dev/zero | tr '\0' x
head -c 1073741824 /dev/zero | tr '\0' y >&2
