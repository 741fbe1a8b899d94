"""kernlab vtop on processes the tests start, checked against pagemap, nm, readelf, smaps, pmap."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from kernlab.mm.strip import bitmap_runs
from tests.conftest import PROGRAMS, assert_clean_error, compile_c, is_root, need_tool, run_kernlab
from tests.mm.procs import kpageflags_word, pagemap_words, smaps_field, unused_pid, waiting_program

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


@pytest.fixture(scope="module")
def touch_binary(tmp_path_factory):
    return compile_c(PROGRAMS / "mm_touch.c", tmp_path_factory.mktemp("mm") / "mm_touch", ["-O1"])


# Each way of linking puts the program somewhere else: PIE with a random bias, fixed
# addresses without PIE, no interpreter when static, 32-bit ELF with -m32.
LINK_FLAGS = {"pie": [], "no-pie": ["-no-pie"], "static": ["-static"], "m32": ["-m32"]}


@pytest.fixture(scope="module", params=list(LINK_FLAGS))
def places_binary(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("mm") / f"mm_places_{request.param}"
    try:
        return compile_c(PROGRAMS / "mm_places.c", out, ["-O1", *LINK_FLAGS[request.param]])
    except RuntimeError as exc:
        pytest.skip(f"cannot build with {LINK_FLAGS[request.param]}: {str(exc)[:200]}")


def flat(text: str) -> str:
    """Terminal text with rich's line wrapping undone."""
    return " ".join(text.split())


def vtop_json(*args: str) -> dict:
    result = run_kernlab("vtop", "--json", *args)
    assert result.code == 0, result.stderr
    return result.json()  # type: ignore[return-value]


def test_half_touched_buffer_counts_and_pfns(touch_binary):
    with waiting_program(touch_binary, ["64", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        report = vtop_json(str(pid), hex(buf), "--range", str(64 * PAGE))
        total = report["total"]
        assert (total["pages"], total["present"], total["never_touched"], total["swapped"]) == (64, 32, 32, 0)
        assert total["unmapped"] == 0
        assert bitmap_runs(total["present_bitmap"], 64) == [(0, 32)]
        words = pagemap_words(pid, buf, 64)
        for index in (0, 17, 31, 32, 63):
            one = vtop_json(str(pid), hex(buf + index * PAGE + 5))
            entry = one["pagemap"]
            assert entry["present"] == bool(words[index] & PRESENT) == (index < 32)
            if index < 32 and is_root():
                assert entry["pfn"] == words[index] & PFN_MASK != 0
            if index >= 32:
                assert entry["state"] == "absent" and entry["pfn"] is None
            assert one["vma"]["start"] <= buf + index * PAGE < one["vma"]["end"]


def test_every_other_page(touch_binary):
    with waiting_program(touch_binary, ["40", "odd"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        total = vtop_json(str(pid), hex(buf), "--range", f"{40 * PAGE:#x}")["total"]
        assert total["present"] == 20 and total["never_touched"] == 20
        assert bitmap_runs(total["present_bitmap"], 40) == [(i, 1) for i in range(0, 40, 2)]
        words = pagemap_words(pid, buf, 40)
        assert [bool(w & PRESENT) for w in words] == [i % 2 == 0 for i in range(40)]


def test_indices_equal_the_shifts_of_the_levels_in_use(touch_binary):
    with waiting_program(touch_binary, ["4", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        address = buf + 0x123
        doc = vtop_json(str(pid), hex(address))
    levels = doc["paging"]["levels"]
    assert levels == len(doc["split"]["indices"])
    page_shift = PAGE.bit_length() - 1
    bits = page_shift - 3
    expected = [(address >> (page_shift + bits * i)) & ((1 << bits) - 1) for i in reversed(range(levels))]
    assert [li["index"] for li in doc["split"]["indices"]] == expected
    assert doc["split"]["offset"] == address % PAGE
    with open("/proc/cpuinfo") as f:
        if "la57" not in f.read().split():
            assert levels <= 4 and "P4D" not in [li["level"] for li in doc["split"]["indices"]]


def _thp_enabled() -> str:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return re.search(r"\[(\w+)\]", f.read())[1]  # type: ignore[index]
    except OSError:
        return "missing"


@pytest.mark.skipif(
    _thp_enabled() in ("never", "missing"), reason="transparent huge pages are off on this kernel"
)
def test_thp_is_found_and_pmd_mapped(touch_binary):
    with waiting_program(touch_binary, ["1024", "thp"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        vma_start = vtop_json(str(pid), hex(buf))["vma"]["start"]
        if smaps_field(pid, vma_start, "AnonHugePages") == 0:
            pytest.skip("the kernel gave no huge page (memory too fragmented for a 2 MiB page)")
        doc = vtop_json(str(pid), hex(buf + 0x1234))
        assert doc["huge"]["kind"] == "thp" and doc["huge"]["pmd_mapped"]
        assert doc["huge"]["offset"] == 0x1234
        assert doc["huge"]["size"] == 2 << 20  # 512 frames: one COMPOUND_HEAD, 511 COMPOUND_TAIL
        if is_root():
            pfn = pagemap_words(pid, buf + 0x1234, 1)[0] & PFN_MASK
            assert kpageflags_word(pfn) >> 22 & 1  # KPF_THP, read here independently
            assert "THP" in doc["page"]["names"]
        huge_kb = smaps_field(pid, vma_start, "AnonHugePages")
        total = vtop_json(str(pid), hex(buf), "--range", "4M")["total"]
        assert total["present"] == 1024
        assert total["huge"] * PAGE // 1024 == huge_kb
        human = flat(run_kernlab("vtop", str(pid), hex(buf + 0x1234)).stdout)
        assert "PMD" in human and "no PTE level" in human
        if is_root() and shutil.which("setpriv"):
            # Without CAP_SYS_ADMIN there are no PFNs; smaps still shows the whole VMA is THP.
            argv = [shutil.which("setpriv"), "--bounding-set=-sys_admin"]
            hidden = subprocess.run(
                argv + _kernlab_argv("vtop", "--json", str(pid), hex(buf + 0x1234)),
                capture_output=True,
                text=True,
            )
            import json

            doc = json.loads(hidden.stdout)
            assert doc["pagemap"]["pfn_hidden"] and doc["huge"]["pmd_mapped"]
            assert "smaps" in doc["huge"]["evidence"]


def _bias_and_symbols(binary) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    nm = subprocess.run(
        [need_tool("nm"), "-S", "--defined-only", str(binary)], capture_output=True, text=True
    )
    symbols = []
    for line in nm.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            symbols.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    readelf = subprocess.run(
        [need_tool("readelf"), "-SW", str(binary)], capture_output=True, text=True
    ).stdout
    sections = []
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]{8,16})\s+[0-9a-f]+\s+([0-9a-f]+)", readelf):
        if int(m[2], 16):
            sections.append((int(m[2], 16), int(m[3], 16), m[1]))
    return symbols, sections


def _load_bias(pid: int, binary) -> int:
    real = os.path.realpath(binary)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == real and int(parts[2], 16) == 0:
                first = int(parts[0].split("-")[0], 16)
                break
    readelf = subprocess.run(
        [need_tool("readelf"), "-lW", str(binary)], capture_output=True, text=True
    ).stdout
    low = min(int(m[1], 16) for m in re.finditer(r"LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", readelf))
    return first - (low & ~(PAGE - 1))


@pytest.mark.parametrize("where", ["text", "data", "bss"])
def test_elf_section_and_symbol_match_nm_and_readelf(places_binary, where):
    symbols, sections = _bias_and_symbols(places_binary)
    with waiting_program(places_binary) as info:
        pid, address = int(info["pid"]), int(info[where], 16)
        doc = vtop_json(str(pid), hex(address))
        bias = _load_bias(pid, places_binary)
    vaddr = address - bias
    want_section = next(name for start, size, name in sections if start <= vaddr < start + size)
    want_symbol = next(
        (name, vaddr - start) for start, size, name in symbols if start <= vaddr < start + size
    )
    assert doc["elf"]["elf_vaddr"] == vaddr
    assert doc["elf"]["section"] == want_section
    assert (doc["elf"]["symbol"], doc["elf"]["symbol_offset"]) == want_symbol
    assert want_section == {"text": ".text", "data": ".data", "bss": ".bss"}[where]


def test_file_page_is_in_the_page_cache(places_binary):
    with waiting_program(places_binary) as info:
        pid, address = int(info["pid"]), int(info["text"], 16)
        doc = vtop_json(str(pid), hex(address))
    assert doc["file"]["path"] == os.path.realpath(places_binary)
    assert doc["file"]["in_page_cache"] is True  # the code ran, so its page was read in
    assert doc["pagemap"]["present"] and doc["pagemap"]["file_or_shared_anon"]


def _pmap_rows(pid: int) -> dict[int, int]:
    """RSS in KiB per VMA start, from pmap -x."""
    out = subprocess.run(
        [need_tool("pmap"), "-x", str(pid)], capture_output=True, text=True, check=True
    ).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and re.fullmatch(r"[0-9a-f]{8,16}", parts[0]):
            rows[int(parts[0], 16)] = int(parts[2])
    return rows


def _assert_rss(counts: dict, rss_kb: int, vma: dict) -> None:
    """Present pages minus zero-page mappings (which RSS leaves out) equal pmap's RSS."""
    if counts["zero_page"] is None:  # PFNs hidden: zero pages cannot be told apart
        assert counts["present"] * PAGE // 1024 >= rss_kb, vma
    else:
        assert (counts["present"] - counts["zero_page"]) * PAGE // 1024 == rss_kb, vma


def test_all_vmas_equal_pmap_rss(touch_binary):
    with waiting_program(touch_binary, ["64", "odd"]) as info:
        pid = int(info["pid"])
        doc = vtop_json(str(pid), "--all")
        pmap = _pmap_rows(pid)
    assert doc["scope"] == "all"
    compared = 0
    for part in doc["vmas"]:
        start = part["vma"]["start"]
        if start in pmap:
            _assert_rss(part["counts"], pmap[start], part["vma"])
            compared += 1
    assert compared >= len(pmap) - 1  # pmap may leave out [vsyscall]
    assert doc["total"]["present"] == sum(p["counts"]["present"] for p in doc["vmas"])


def test_vma_option_counts_one_vma(touch_binary):
    with waiting_program(touch_binary, ["32", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        index = vtop_json(str(pid), hex(buf))["vma_index"]
        doc = vtop_json(str(pid), "--vma", str(index))
        rss_kb = smaps_field(pid, doc["vmas"][0]["vma"]["start"], "Rss")
        human = run_kernlab("vtop", str(pid), "--vma", str(index))
    assert doc["total"]["present"] * PAGE // 1024 == rss_kb
    assert human.code == 0 and "never touched" in flat(human.stdout)


@pytest.mark.skipif(not is_root() or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_without_cap_sys_admin_pfns_are_hidden_and_the_rest_is_shown(touch_binary):
    with waiting_program(touch_binary, ["16", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        cmd = [
            shutil.which("setpriv"),
            "--bounding-set=-sys_admin",
            *_kernlab_argv("vtop", "--json", str(pid), hex(buf)),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        import json

        doc = json.loads(out.stdout)
        assert doc["pagemap"]["present"] and doc["pagemap"]["pfn"] is None and doc["pagemap"]["pfn_hidden"]
        assert doc["vma"] is not None and doc["split"]["indices"]
        human = subprocess.run(
            cmd[:2] + _kernlab_argv("vtop", str(pid), hex(buf)), capture_output=True, text=True
        )
        assert "CAP_SYS_ADMIN" in flat(human.stdout)


def _kernlab_argv(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "kernlab", *args]


def test_address_outside_every_vma(touch_binary):
    with waiting_program(touch_binary, ["4", "half"]) as info:
        pid = int(info["pid"])
        doc = vtop_json(str(pid), "0x1000")
        human = run_kernlab("vtop", str(pid), "0x1000")
    assert doc["vma"] is None and doc["above"] is not None and doc["below"] is None
    assert human.code == 0 and "segmentation fault" in flat(human.stdout)


def test_pid_that_does_not_exist():
    result = run_kernlab("vtop", str(unused_pid()), "0x1000")
    assert_clean_error(result, code=4)


def test_pid_that_is_not_a_number():
    assert_clean_error(run_kernlab("vtop", "nonsense", "0x1000"), code=3)


def test_kernel_thread_has_no_vmas():
    result = run_kernlab("vtop", "2", "0x1000")  # PID 2 is kthreadd on Linux
    assert_clean_error(result, code=3)
    assert "kernel thread" in result.stderr


def test_zombie_is_reported_as_gone(touch_binary):
    proc = subprocess.Popen(["true"])
    for _ in range(100):
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        import time

        time.sleep(0.02)
    try:
        result = run_kernlab("vtop", str(proc.pid), "--all")
        assert_clean_error(result, code=4)
    finally:
        proc.wait()


def test_process_that_exits_while_being_read(touch_binary, monkeypatch):
    # Let the process exit between reading its maps and reading its pagemap: the real
    # pagemap read of a dead process must become NoSuchProcess, not a traceback.
    from kernlab.errors import NoSuchProcess
    from kernlab.mm import ranges, vtop

    proc = subprocess.Popen(
        [str(touch_binary), "8", "half"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    buf = int(line.split("buf=")[1].split()[0], 16)
    real = ranges.read_pagemap_raw

    def exit_first(*args, **kwargs):
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(ranges, "read_pagemap_raw", exit_first)
    with pytest.raises(NoSuchProcess):
        vtop.vtop_range(proc.pid, buf, 8 * PAGE)


def test_bad_options():
    pid = str(os.getpid())
    assert_clean_error(run_kernlab("vtop", pid, "--range", "4K"), code=3)  # no address
    assert_clean_error(run_kernlab("vtop", pid, "--all", "--vma", "1"), code=3)
    assert_clean_error(run_kernlab("vtop", pid, "0x1000", "--range", "0"), code=3)
    assert_clean_error(run_kernlab("vtop", pid, "0x1000", "--all"), code=3)
    assert run_kernlab("vtop", pid, "0x1000", "--range", "lots").code == 2


def test_vma_number_out_of_range(touch_binary):
    with waiting_program(touch_binary, ["4", "half"]) as info:
        result = run_kernlab("vtop", info["pid"], "--vma", "100000")
    assert_clean_error(result, code=3)


def test_file_page_mapped_but_not_touched_reports_page_cache_like_fincore(tmp_path):
    import mmap

    from tests.mm.test_mm_pagecache import drop, fincore, make_file

    path = make_file(tmp_path / "mapped.bin", 4 * PAGE)
    drop(path)
    with open(path, "rb") as f:
        mapping = mmap.mmap(f.fileno(), 4 * PAGE, prot=mmap.PROT_READ)
    try:
        address = _mapping_address(path)
        assert fincore(path)[1] == 0
        # vtop looks at the page cache before it reads the file's header to see if it is ELF
        # (that read brings the first pages in), so the answer is the state before.
        cold = vtop_json(str(os.getpid()), hex(address))
        assert cold["file"]["path"] == str(path) and cold["file"]["file_offset"] == 0
        assert cold["pagemap"]["present"] is False
        assert cold["file"]["in_page_cache"] is False
        drop(path)
        fd = os.open(path, os.O_RDONLY)
        os.pread(fd, 1, 0)  # into the page cache, not into our page table
        os.close(fd)
        warm = vtop_json(str(os.getpid()), hex(address))
        assert warm["file"]["in_page_cache"] is True and fincore(path)[1] >= 1
        human = flat(run_kernlab("vtop", str(os.getpid()), hex(address)).stdout)
        assert "page cache" in human
    finally:
        mapping.close()


def _mapping_address(path) -> int:
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith(str(path)):
                return int(line.split("-")[0], 16)
    raise AssertionError(f"{path} is not mapped")


def test_shared_library_function_is_named_like_its_dynamic_symbol():
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    address = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    doc = vtop_json(str(os.getpid()), hex(address))
    path = doc["vma"]["path"]
    nm = subprocess.run(
        [need_tool("nm"), "-D", "--defined-only", path], capture_output=True, text=True
    ).stdout
    vaddr = doc["elf"]["elf_vaddr"]
    names_here = {
        line.split()[-1].split("@")[0] for line in nm.splitlines() if int(line.split()[0], 16) == vaddr
    }
    assert "getpid" in names_here
    assert doc["elf"]["symbol"] in names_here and doc["elf"]["symbol_offset"] == 0
    assert doc["elf"]["section"] == ".text"
    assert doc["vma"]["kind"] == "shared-lib"


@pytest.mark.skipif(not is_root(), reason="needs root: PFNs and kpageflags")
def test_read_only_pages_map_the_shared_zero_page(touch_binary):
    with waiting_program(touch_binary, ["32", "read"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        words = pagemap_words(pid, buf, 32)
        doc = vtop_json(str(pid), hex(buf), "--range", str(32 * PAGE))
        one = vtop_json(str(pid), hex(buf + 3 * PAGE))
        whole = vtop_json(str(pid), "--vma", str(one["vma_index"]))["total"]
        rss_kb = smaps_field(pid, one["vma"]["start"], "Rss")
        human = flat(run_kernlab("vtop", str(pid), hex(buf + 3 * PAGE)).stdout)
    frames = {w & PFN_MASK for w in words}
    assert all(w & PRESENT for w in words) and len(frames) == 1  # one frame behind every page
    assert kpageflags_word(frames.pop()) >> 24 & 1  # KPF_ZERO_PAGE, read here independently
    total = doc["total"]
    assert total["present"] == 32 and total["zero_page"] == 32
    assert rss_kb == (whole["present"] - whole["zero_page"]) * PAGE // 1024  # smaps Rss skips the zero page
    assert "ZERO_PAGE" in one["page"]["names"] and "zero page" in human


def _swap_in_use() -> bool:
    try:
        with open("/proc/swaps") as f:
            return len(f.read().splitlines()) > 1
    except OSError:
        return False


@pytest.mark.skipif(not _swap_in_use(), reason="no swap area is active (/proc/swaps is empty)")
def test_paged_out_pages_are_swapped_like_pagemap_says(touch_binary):
    with waiting_program(touch_binary, ["64", "pageout"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        words = pagemap_words(pid, buf, 64)
        doc = vtop_json(str(pid), hex(buf), "--range", str(64 * PAGE))
        one = vtop_json(str(pid), hex(buf))
    swapped = sum(1 for w in words if w >> 62 & 1 and not w >> 63)
    if swapped == 0:
        pytest.skip("MADV_PAGEOUT swapped nothing out (kernel kept the pages)")
    assert doc["total"]["swapped"] == swapped
    if words[0] >> 62 & 1:
        assert one["pagemap"]["swapped"] and one["pagemap"]["swap_type"] == words[0] & 0x1F
        assert one["pagemap"]["swap_offset"] == (words[0] & PFN_MASK) >> 5


def test_all_vmas_of_an_idle_python_equal_pmap_rss():
    # A richer address space than mm_touch: shared libraries, heap, zero pages, vdso/vvar.
    import sys

    code = (
        "import json, time, sys\n"
        "for _ in range(3): time.time(); time.perf_counter()\n"
        "junk = [bytes(3000) for _ in range(1000)]\n"
        "buf = bytearray(4 << 20); peek = buf[::4096]\n"
        "print('ready', flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        doc = vtop_json(str(proc.pid), "--all")
        pmap = _pmap_rows(proc.pid)
    finally:
        proc.communicate("", timeout=10)
    checked = 0
    for part in doc["vmas"]:
        start, counts = part["vma"]["start"], part["counts"]
        if start in pmap:
            _assert_rss(counts, pmap[start], part["vma"])
            checked += 1
    assert checked > 20
