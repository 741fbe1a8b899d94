# Run inside a stock-kernel guest by tests/vm/test_stock_kernels.py. Arguments: OUT (a host
# folder the guest may write), PY (the host's Python with kernlab installed), HOLD (the
# compiled tests/programs/vm_highmap_hold.c). Everything the host checks is written to OUT;
# recordings and BTF are analysed on the host, where kernlab runs 10–50× faster than in TCG.
OUT=$1 PY=$2 HOLD=$3 CHECKS=${4:-all}
T=/sys/kernel/tracing
state() {
	for f in current_tracer set_event tracing_on set_event_pid buffer_size_kb trace_options \
		uprobe_events kprobe_events dynamic_events set_ftrace_filter set_ftrace_pid \
		max_graph_depth set_graph_function set_graph_notrace; do
		echo "== $f"
		cat "$T/$f" 2>&1
	done
	echo "== instances"
	ls "$T/instances"
}
state >"$OUT/state_before.txt"
cat /proc/kallsyms >"$OUT/kallsyms"
uname -r >"$OUT/release.txt"
uname -r >"$OUT/release"
uname -v >"$OUT/build"
cat /proc/version >"$OUT/version"
cat "$T/available_tracers" >"$OUT/top_tracers.txt"
ls "$T" >"$OUT/top_files.txt"
mkdir "$T/instances/vmcheck" && {
	cat "$T/instances/vmcheck/available_tracers" >"$OUT/instance_tracers.txt"
	ls "$T/instances/vmcheck" >"$OUT/instance_files.txt"
	rmdir "$T/instances/vmcheck"
}
cd "$OUT" || exit 2
$PY -m kernlab kernel --json >"$OUT/kernel.json" 2>"$OUT/kernel.err"
"$HOLD" >"$OUT/hold.txt" &
holder=$!
sleep 1
read -r pid addr <"$OUT/hold.txt"
$PY -m kernlab vtop "$pid" "$addr" --json >"$OUT/vtop.json" 2>"$OUT/vtop.err"
$PY - "$pid" "$addr" >"$OUT/pagemap.txt" <<'PYEOF'
import struct, sys
pid, addr = int(sys.argv[1]), int(sys.argv[2], 16)
with open(f"/proc/{pid}/pagemap", "rb") as fh:
    fh.seek(addr // 4096 * 8)
    entry = struct.unpack("<Q", fh.read(8))[0]
print(entry >> 63 & 1, entry & ((1 << 55) - 1))
PYEOF
kill "$holder"
if [ "$CHECKS" = all ]; then
	$PY -m kernlab doctor --json >"$OUT/doctor.json" 2>"$OUT/doctor.err"
	cp /sys/kernel/btf/vmlinux "$OUT/vmlinux.btf" 2>/dev/null
	$PY -m kernlab record -d "$OUT/rec" -- ls -la /usr >/dev/null 2>"$OUT/record.err"
	echo $? >"$OUT/record.code"
	strace -f -c -o "$OUT/strace.txt" ls -la /usr >/dev/null
	# function_graph at the top level beside uftrace -K (tests/vm/test_function_graph.py): only
	# 6.1 offers the tracer there; checked in this boot rather than a second one.
	case $(uname -r) in 6.1.*) bash "$(dirname "$0")/guest_function_graph.sh" "$OUT" "$PY" >"$OUT/fg.log" 2>&1 ;; esac
fi
state >"$OUT/state_after.txt"
