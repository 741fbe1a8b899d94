# How tests/tracing/function_graph_data/ was made: run by hand inside a Debian 6.1 guest
# (tests/vm/guest.py run_in_guest), with the ext4 image mounted at /tmp/fg-mnt as
# tests/vm/guest_function_graph.sh mounts it. Arguments: OUT (a host folder the guest may write). function_graph is
# fenced in to one `mv a b` as kernlab does it, then the kernel's text of the records (`trace`,
# read without consuming them) and the same records raw (`trace_pipe_raw`) are saved with the
# header_page, the funcgraph formats and kallsyms; every file is set back by hand after.
OUT=$1
T=/sys/kernel/tracing
cd /tmp/fg-mnt || exit 3
# A raw buffer of function_graph records with the kernel's own text of the same records (the
# oracle of the record parser's unit test): fenced in as kernlab does, restored by hand after.
rm -f b
echo kernel paths >a
mkdir -p "$OUT/fgraw"
echo 0 >"$T/tracing_on"
size=$(cut -d' ' -f1 "$T/buffer_size_kb")
echo 4096 >"$T/buffer_size_kb"
echo 4 >"$T/max_graph_depth"
echo __x64_sys_renameat2 >"$T/set_graph_function"
echo 0 >"$T/options/funcgraph-irqs"
echo 1 >"$T/options/funcgraph-proc"
mkfifo /tmp/fg-gate
sh -c 'echo $$ >'"$T"'/set_ftrace_pid; read -r go </tmp/fg-gate; exec /bin/mv a b' &
sleep 1
echo function_graph >"$T/current_tracer"
echo 1 >"$T/tracing_on"
echo go >/tmp/fg-gate
wait
echo 0 >"$T/tracing_on"
cat "$T/trace" >"$OUT/fgraw/trace.txt"
for d in "$T"/per_cpu/cpu*; do
	dd if="$d/trace_pipe_raw" of="$OUT/fgraw/$(basename "$d").raw" bs=4096 iflag=nonblock 2>/dev/null
done
cp "$T/events/header_page" "$OUT/fgraw/header_page"
cp "$T/events/ftrace/funcgraph_entry/format" "$OUT/fgraw/funcgraph_entry.format"
cp "$T/events/ftrace/funcgraph_exit/format" "$OUT/fgraw/funcgraph_exit.format"
grep -E ' (t|T) ' /proc/kallsyms >"$OUT/fgraw/kallsyms.all"
echo nop >"$T/current_tracer"
echo 0 >"$T/options/funcgraph-proc"
echo 1 >"$T/options/funcgraph-irqs"
echo >"$T/set_graph_function"
echo >"$T/set_ftrace_pid"
echo 0 >"$T/max_graph_depth"
echo "$size" >"$T/buffer_size_kb"
echo 1 >"$T/tracing_on"
