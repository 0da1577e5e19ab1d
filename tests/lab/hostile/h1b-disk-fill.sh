# what: filling the sandbox's /tmp and /workspace until the disk says no: both are size-limited tmpfs mounts, the host's disks are untouched
# limits: {"timeout_ms": 60000}
# expect-stdout: (?s)tmp: full at ([1-9]|[1-5][0-9]|6[0-4]) MiB\n.*workspace: full at ([1-9]|[1-5][0-9]|6[0-4]) MiB\n.*DONE\n
# Writes 1 MiB blocks (bounded: 2048 of them, 2 GiB) until a write fails.
# /tmp and /workspace are tmpfs mounts of the sandbox's own (64 MiB by
# default, charged to its memory cgroup), so it stops at most at 64 MiB
# and nothing reaches a disk of the host. Files are removed after, so the
# session ends with its memory given back.
fill() {
	dir=$1 n=0
	while [ "$n" -lt 2048 ]; do
		dd if=/dev/zero of="$dir/fill" bs=1M count=1 seek="$n" conv=notrunc \
			status=none 2>/dev/null || break
		n=$((n + 1))
	done
	echo "$2: full at $n MiB"
	df -k "$dir" | awk 'NR == 2 { print "'"$2"': " $1 " size " $2 " KiB" }'
	rm -f "$dir/fill"
}
fill /tmp tmp
fill /workspace workspace
grep -E ' /(tmp|workspace) ' /proc/mounts | awk '{ print "mount:", $2, $3 }'
echo DONE
