# what: sleeping past the timeout, in a child that ignores SIGTERM and in its own new session: killed with the whole sandbox
# limits: {"timeout_ms": 1500}
# expect-phase: timed_out
# expect-stdout: \Astarted\n\Z
# The workload and a setsid'd child that traps TERM sleep for a minute;
# the timeout is 1.5 s. Nothing after it may print.
echo started
setsid sh -c 'trap "" TERM HUP; sleep 60; echo LEAK child outlived the timeout' &
trap '' TERM
sleep 60
echo "LEAK the workload outlived the timeout"
