# Run inside a stock-kernel guest by tests/vm/test_function_graph.py. Arguments: OUT (a host
# folder the guest may write), PY (the host's Python with kernlab installed). The seed's
# exercise on a file of an ext4 image: `kernlab record --functions -K 5 -- /bin/mv a b`, then
# `uftrace record --force -K 5 /bin/mv a b` on the same file system; the replays are compared on
# the host. The top-level files function_graph uses are listed before and after kernlab.
OUT=$1 PY=$2
T=/sys/kernel/tracing
graph_state() {
	for f in current_tracer set_ftrace_pid max_graph_depth set_graph_function trace_clock \
		options/function-fork options/funcgraph-irqs tracing_on; do
		echo "== $f"
		cat "$T/$f" 2>&1
	done
	echo "== instances"
	ls "$T/instances"
}
graph_state >"$OUT/fg_before.txt"
mkdir "$T/instances/fgcheck" && {
	cat "$T/instances/fgcheck/available_tracers" >"$OUT/fg_instance_tracers.txt"
	rmdir "$T/instances/fgcheck"
}
modprobe loop
truncate -s 32M /tmp/fg-ext4.img
mkfs.ext4 -q -F /tmp/fg-ext4.img
mkdir -p /tmp/fg-mnt
mount -o loop /tmp/fg-ext4.img /tmp/fg-mnt || exit 3
cd /tmp/fg-mnt || exit 3
echo kernel paths >a
# Both runs find b as a cached negative dentry (a first lookup would add d_alloc + ext4_lookup).
stat a b >/dev/null 2>&1
timeout 300 $PY -m kernlab record -q -d "$OUT/fgrec" --functions -K 5 -- /bin/mv a b >"$OUT/fg_record.out" 2>"$OUT/fg_record.err"
echo $? >"$OUT/fg_record.code"
graph_state >"$OUT/fg_after.txt"
rm -f b
echo kernel paths >a
stat a b >/dev/null 2>&1
mount --make-rshared /
# uftrace's data goes to the guest's /tmp: it makes a FIFO there, which the 9p share refuses.
timeout 240 uftrace record --force -K 5 -d /tmp/uftrace.data /bin/mv a b >"$OUT/uftrace_record.out" 2>&1
echo $? >"$OUT/uftrace_record.code"
# uftrace 0.13 looks symbols up in its saved kallsyms by address: sorted, ext4's are found too.
sort -o /tmp/uftrace.data/kallsyms /tmp/uftrace.data/kallsyms
uftrace replay -d /tmp/uftrace.data >"$OUT/uftrace_replay.txt" 2>&1
cd / && umount /tmp/fg-mnt
touch "$OUT/fg_done"
