"""`kernlab disasm FILE` against `objdump -d FILE` on the kinds of input a sweep of a whole
machine turned up differences on: each test builds (or picks) a real file and compares the two
listings line for line, objdump run here being the oracle.

The inputs: stripped PIEs whose code reads GOT slots, executables linked against a library
without symbol versions, static executables with and without symbols, relocatable objects
with one section per function, and an assembled file of the instruction forms that capstone
spells differently from objdump.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool, run_kernlab

ANNOTATION = re.compile(r"   → .*$")


def kernlab_lines(path: Path | str) -> list[str]:
    """kernlab's listing of ``path`` without its annotations and closing sentences; listed by
    one process and by two meeting in the middle, byte for byte the same."""
    result = run_kernlab("disasm", str(path), "--quiet", "--jobs", "1", timeout=120)
    assert result.code == 0, result.stderr
    two = run_kernlab("disasm", str(path), "--quiet", "--jobs", "2", timeout=120)
    assert two.code == 0, two.stderr
    assert two.stdout == result.stdout, f"{path}: --jobs 2 differs from --jobs 1"
    return [ANNOTATION.sub("", line) for line in result.stdout.splitlines() if not line.startswith("→ ")]


def objdump_lines(path: Path | str) -> list[str]:
    need_tool("objdump")
    out = subprocess.run(["objdump", "-d", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def assert_same_listing(path: Path | str) -> None:
    theirs = objdump_lines(path)
    ours = kernlab_lines(path)
    for i, (a, b) in enumerate(zip(theirs, ours, strict=False)):
        assert a == b, f"{path} line {i + 1}: objdump {a!r} != kernlab {b!r}"
    assert len(ours) == len(theirs), f"{path}: objdump has {len(theirs)} lines, kernlab {len(ours)}"


def compile_c(
    tmp_path: Path,
    source: str,
    name: str,
    flags: list[str],
    compiler: str = "gcc",
    libs: tuple[str, ...] = (),
) -> Path:
    """``source`` built with ``compiler``, ``flags`` and ``libs`` (skipped when that cannot be
    done here)."""
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / name
    command = [compiler, *flags, str(src), "-o", str(out), *libs]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"{compiler} {' '.join(flags)} does not work here: {built.stderr.strip()[:200]}")
    return out


# Code that reads GOT slots from .text (a function pointer to an imported function, imported
# data), switch tables, floating point and a static table next to a linker-made symbol.
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
static const int table[] = {3, 1, 4, 1, 5, 9, 2, 6};
int (*pick)(const char *) = puts;
int sw(int x) { switch (x) { case 0: return 10; case 1: return 22; case 2: return 37;
  case 3: return 41; case 4: return 56; case 5: return 63; default: return -1; } }
double wave(double x) { return sin(x) * cos(x) + sqrt(x); }
int main(int argc, char **argv) {
  char buf[64];
  strncpy(buf, argv[0], sizeof buf - 1);
  buf[63] = 0;
  pick(buf);
  fprintf(stderr, "%d %d\n", sw(argc), table[argc & 7]);
  free(malloc(argc));
  return (int)wave(argc);
}
"""


def test_stripped_pie_names_got_slots_as_objdump_does(tmp_path):
    """A RIP-relative read of a GOT slot from .text: objdump keeps the nearest symbol when it is
    in the section being listed (``<main@@Base+0x2f10>``) and only otherwise names the slot
    after its dynamic relocation (``<puts@GLIBC_2.2.5>``), as in .plt.got."""
    program = compile_c(tmp_path, PROGRAM, "pie", ["-O2", "-fPIE", "-pie", "-s", "-Wl,-E"], "gcc", ("-lm",))
    assert_same_listing(program)


def test_ls_is_listed_exactly():
    """/bin/ls is a stripped PIE of many GOT reads: no difference at all is left."""
    path = "/usr/bin/ls" if Path("/usr/bin/ls").exists() else "/bin/ls"
    if not Path(path).exists():
        pytest.skip("no /bin/ls")
    assert_same_listing(path)


def test_library_without_versions_names_its_symbols_bare(tmp_path):
    """gold gives a symbol from a library without versions the .gnu.version entry 0: BFD then
    prints it with no ``@Base`` (``# 2010 <foo>``), unlike entry 1 (``foo_value@@Base``)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    (tmp_path / "foo.c").write_text("int foo_value = 3;\nint foo(int x) { return x + foo_value; }\n")
    built = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libfoo.so"), str(tmp_path / "foo.c")],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(f"gcc -shared does not work here: {built.stderr[:200]}")
    source = (
        "#include <stdio.h>\nextern int foo(int);\nextern int foo_value;\nint (*fp)(int) = foo;\n"
        'int main(void) { printf("%d\\n", fp(foo_value)); return foo(2); }\n'
    )
    flags = ["-O1", "-fuse-ld=gold", f"-L{tmp_path}", "-lfoo"]
    src = tmp_path / "main.c"
    src.write_text(source)
    out = tmp_path / "main"
    linked = subprocess.run(["gcc", str(src), "-o", str(out), *flags], capture_output=True, text=True)
    if linked.returncode != 0:
        pytest.skip(f"gcc -fuse-ld=gold does not work here: {linked.stderr[:200]}")
    assert_same_listing(out)
    assert any(re.search(r"# [0-9a-f]+ <foo>$", line) for line in objdump_lines(out)), (
        "the test expects gold to leave foo unversioned"
    )


def test_static_executable_with_symbols(tmp_path):
    """No .dynsym, so no ``*ABS*+0x...@plt`` entries for the IRELATIVE slots; an IFUNC alias
    ranks below a plain function (``__sin_ifunc`` over ``__sin``), an object over a NOTYPE
    label (``t.0`` over ``__fini_array_end``)."""
    program = compile_c(tmp_path, PROGRAM, "static", ["-O2", "-static"], "gcc", ("-lm",))
    assert_same_listing(program)


def test_static_executable_without_symbols(tmp_path):
    """Stripped and static: objdump has no symbol at all and writes targets as ``0x401012``
    and block labels after their section (``<.plt>``)."""
    program = compile_c(tmp_path, "int main(void) { return 0; }\n", "bare", ["-O2", "-static", "-s"], "gcc")
    assert_same_listing(program)


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_relocatable_object_with_a_section_per_function(tmp_path, compiler):
    """In a .o every section starts at 0: each is read by its own bytes, and an address inside
    the section being listed is named after that section's symbols only (objdump's
    want_section), not after a constant-pool label of another section at the same offset."""
    flags = ["-c", "-O2", "-ffunction-sections", "-fcf-protection"]
    obj = compile_c(tmp_path, PROGRAM, f"sections_{compiler}.o", flags, compiler)
    assert_same_listing(obj)


# Instruction forms capstone writes otherwise than objdump; the .byte lines are encodings an
# assembler will not produce (sal's /6, addr32 call, ud0/ud1 with operands, invalid x87).
FORMS = r"""
.text
.globl forms
forms:
  jrcxz 1f
  loop 1f
  loopne 1f
1:
  repz cmpsb
  repnz scasb
  repnz cmpsb
  rep stosq
  crc32b (%rsi),%eax
  crc32q 0x8(%r9),%rcx
  crc32l %edx,%eax
  pushf
  popf
  pushfw
  pclmulqdq $0x00,%xmm1,%xmm2
  pclmulqdq $0x01,%xmm1,%xmm2
  pclmulqdq $0x10,%xmm1,%xmm2
  pclmulqdq $0x11,%xmm1,%xmm2
  pclmulqdq $0x05,%xmm1,%xmm2
  vpclmulqdq $0x11,%xmm1,%xmm2,%xmm3
  shrq %cl,0x10(%rbx)
  shll %cl,(%rax)
  sarb %cl,(%rax)
  shl %cl,%eax
  .byte 0xc0, 0xb0, 0x10, 0x00, 0x00, 0x00, 0x05
  .byte 0x67, 0xe8, 0x00, 0x00, 0x00, 0x00
  xlat
  lretq
  .byte 0xcb
  .byte 0xca, 0x08, 0x00
  ljmp *(%rax)
  lcall *0x8(%rbx)
  enter $0x10,$0x0
  .byte 0x0f, 0xb9, 0xc0
  .byte 0x0f, 0xb9, 0x40, 0x10
  .byte 0x0f, 0xff, 0x00
  .byte 0xdf, 0xff
  .byte 0xd9, 0xd1
  adcx %eax,%ebx
  wrussq %rax,(%rbx)
  mov %dr7,%rax
  vaddps (%rax){1to16},%zmm1,%zmm2
  vaddpd {rn-sae},%zmm1,%zmm2,%zmm3
  vcvtusi2sdl -0x24(%rbp),%xmm0,%xmm0
  ret
"""


def test_instruction_forms_are_written_as_objdump_writes_them(tmp_path):
    """repz/repnz, the crc32 and shift-by-%cl size suffixes, pushf/popf, the pclmulqdq pseudo
    names, lret/ljmp/lcall, enter's operand order, xlat, addr32, ud0/ud1 with their ModRM
    operands, two-byte x87 (bad), a mandatory 0x66 that is not data16, %db7, EVEX broadcast
    and rounding: every line as objdump writes it, and every later line at its address."""
    if shutil.which("as") is None:
        pytest.skip("GNU as is not installed")
    src = tmp_path / "forms.s"
    src.write_text(FORMS)
    obj = tmp_path / "forms.o"
    built = subprocess.run(["as", "--64", str(src), "-o", str(obj)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"as cannot assemble these forms here: {built.stderr[:200]}")
    assert_same_listing(obj)


def assemble(tmp_path: Path, text: str, name: str, bits: str = "--64") -> Path:
    """``text`` assembled by GNU as (skipped when it is missing or refuses)."""
    if shutil.which("as") is None:
        pytest.skip("GNU as is not installed")
    src = tmp_path / f"{name}.s"
    src.write_text(text)
    obj = tmp_path / f"{name}.o"
    built = subprocess.run(["as", bits, str(src), "-o", str(obj)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"as {bits} cannot assemble {name} here: {built.stderr[:200]}")
    return obj


# Data among code, as hand-written assembly and crypto libraries have it: instructions cut by
# the next symbol, prefixes nothing uses, encodings no instruction has.
ODD_BYTES = r"""
.text
a:
  nop
  .byte 0x48, 0x8b
b:
  .byte 0x05, 0x00, 0x00, 0x00, 0x00, 0x66, 0x0f
c:
  .byte 0x1f, 0x44, 0x00, 0x00, 0x0d, 0x0c
d:
  ret
  .byte 0x66
e:
  ret
  .byte 0xf3, 0x48
f:
  ret
  .byte 0x8f, 0xca, 0xca, 0x45, 0x90
  .byte 0xc4, 0xe1, 0x79, 0xff, 0x00
  .byte 0x0f, 0x0c, 0x70, 0x2a
  .byte 0x0f, 0x00, 0x70, 0x2a
  .byte 0x0f, 0x38, 0xff
  .byte 0x66, 0x0f, 0x0c
  .byte 0x63, 0x63, 0xa5
  .byte 0x48, 0x63, 0xc1
  .byte 0xf2, 0x0d, 0xff, 0xf2, 0xf2, 0x0d
  .byte 0xf3, 0x01, 0xc0
  .byte 0xf2, 0x48, 0x89, 0xc0
  .byte 0xf3, 0x0f, 0xb8, 0xc0
  .byte 0xf3, 0xe9, 0x00, 0x00, 0x00, 0x00
  .byte 0xf2, 0x90
  .byte 0xcf
  .byte 0x49, 0x0f, 0x50, 0xd1
  blendvps %xmm0,%xmm1,%xmm2
  sha256rnds2 %xmm0,%xmm1,%xmm2
  .byte 0x62, 0x41, 0xfd, 0x08, 0x7e, 0x61, 0x08
  .byte 0x4d, 0xab
  .byte 0x40, 0x89, 0xc9
  .byte 0x40, 0xfa
  .byte 0x47, 0x47, 0xc9
  .byte 0x41, 0xad
  .byte 0x41, 0x7e, 0x00
  .byte 0x4f, 0x68, 0x34, 0x34, 0x5c, 0x68
  .byte 0x46, 0x67, 0xbe, 0xbe, 0xd9, 0x67, 0xbe
  .byte 0x4c, 0x4c, 0xd4
  .byte 0x43, 0xc5, 0x9a, 0x4d
  .byte 0x4a, 0x63, 0x04, 0xa0
  .byte 0xf3, 0x48, 0x0f, 0xb8, 0xc7
  .byte 0x40, 0x88, 0xc6
  .byte 0x66, 0x66, 0x48, 0xe8, 0x00, 0x00, 0x00, 0x00
  .byte 0xf0, 0xf0, 0x0b, 0xfb
  .byte 0xf0, 0xf0, 0x0b, 0x41, 0xad
  .byte 0x65, 0x9d
  .byte 0x2e, 0x2e, 0x72, 0x00
  .byte 0x3e, 0x42, 0x7c, 0x00
  .byte 0xc8, 0x64, 0x64, 0xac
  .byte 0x66, 0x44, 0x22, 0x22
  .byte 0xc4, 0xc4, 0x57, 0x55
  .byte 0xf3, 0x0f, 0xa7, 0xc8
  .byte 0x0f, 0xa7, 0xc0
  .byte 0x8f, 0x74, 0x6f, 0x63
g:
  ret
  .byte 0x00
"""


def test_bytes_that_are_not_plain_instructions(tmp_path):
    """objdump never decodes past the next symbol: a cut instruction is its first byte alone,
    ``.byte 0x8b`` or a prefix's word (``rex.W``, ``data16``). Its ``(bad)`` spans the opcode
    bytes (two for 0F xx, three for 0F 38 xx, four for an invalid VEX or XOP form, prefixes as
    words before it); an unused repeat prefix is written (``repnz or``); movsxd into a 32-bit
    register keeps its name; and a few forms capstone spells its own way: iretd, movmskps into
    a 64-bit register, the implicit %xmm0 of blendvps, EVEX vmovq's scaled displacement. A REX
    prefix with a bit nothing uses is written whole (``rex.B jle``, ``rex cli``), one before
    another prefix on its own; so are a second lock, an unused fs/gs, a data16 on a byte
    operation; 2e/3e on a conditional jump are its hint (``jb,pn``); enter's imm8 is a byte;
    VIA PadLock's names are hyphenated (``repz xcrypt-ecb``)."""
    assert_same_listing(assemble(tmp_path, ODD_BYTES, "odd"))


FORMS_32 = r"""
.text
forms32:
  jecxz 1f
  loop 1f
1:
  repz cmpsb
  repnz scasb
  crc32b (%esi),%eax
  pushf
  popf
  pushfw
  .byte 0xcf
  pclmulqdq $0x11,%xmm1,%xmm2
  shrl %cl,0x10(%ebx)
  .byte 0x67, 0xe8, 0x00, 0x00
  xlat
  .byte 0xcb
  ljmp *(%eax)
  lcall *(%eax)
  enter $0x10,$0x0
  .byte 0x0f, 0xb9, 0xc0
  .byte 0xf2, 0x90
  .byte 0xf3, 0x01, 0xc0
  .byte 0x66, 0x0f, 0x0c
  movsbl (%eax),%eax
  blendvps %xmm0,%xmm1,%xmm2
  mov %db7,%eax
  .byte 0x8f, 0xca, 0xca, 0x45
  .byte 0xc4, 0xc0, 0x79
  ret
  .byte 0xc0, 0x79
"""


def test_32bit_forms(tmp_path):
    """The same rules in 32-bit code: jecxz, addr16, pushfw, iret, XOP (bad) over four bytes
    but a VEX escape alone, a cut instruction at the section's end."""
    assert_same_listing(assemble(tmp_path, FORMS_32, "forms32", "--32"))


def test_avx512_object_matches_objdump(tmp_path):
    """AVX-512 intrinsics: opmasks, zeroing, broadcasts, embedded rounding, compares."""
    source = r"""
#include <immintrin.h>
__m512 f(__m512 a, __m512 b, __mmask16 m, const float *p) {
  __m512 c = _mm512_mask_add_ps(a, m, a, b);
  c = _mm512_maskz_mul_ps(m, c, _mm512_set1_ps(*p));
  c = _mm512_add_round_ps(c, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_fmadd_ps(c, _mm512_loadu_ps(p), b);
}
__mmask16 g(__m512i a, __m512i b) {
  return _mm512_cmplt_epi32_mask(a, b) | _mm512_cmpneq_epu32_mask(a, b);
}
double h(double a, unsigned b) { return _mm_cvtsd_f64(_mm_cvtu32_sd(_mm_set_sd(a), b)); }
"""
    for level in ("-O0", "-O2"):
        obj = compile_c(tmp_path, source, f"avx512{level}.o", ["-c", level, "-mavx512f"], "gcc")
        assert_same_listing(obj)


def small_kernel_modules(count: int) -> list[Path]:
    """The smallest kernel modules of this machine with code, as plain .ko paths (a .ko.xz is
    decompressed into a temporary file by the caller's fixture)."""
    import glob
    import os

    found = glob.glob("/lib/modules/*/kernel/**/*.ko*", recursive=True)
    return [Path(p) for p in sorted(found, key=os.path.getsize)[: count * 3]]


def test_kernel_modules_match_objdump(tmp_path):
    """Kernel modules are relocatable objects whose data sections may sit at a nonzero sh_addr
    (6.12's .data at 0x40): a symbol's address is then its section's plus its value, and a
    call whose unrelocated target lies past its section is named after the nearest of them."""
    import lzma

    from kernlab.elf.reader import open_elf

    checked = 0
    for module in small_kernel_modules(3):
        path = module
        if module.suffix == ".xz":
            path = tmp_path / module.name.removesuffix(".xz")
            path.write_bytes(lzma.decompress(module.read_bytes()))
        elif module.suffix != ".ko":
            continue
        image = open_elf(str(path))
        if image.arch != "x86_64" or not any("X" in s.flags and s.size for s in image.sections):
            continue
        assert_same_listing(path)
        checked += 1
        if checked == 3:
            break
    if not checked:
        pytest.skip("no x86-64 kernel module with code under /lib/modules")


def test_fwait_before_an_x87_instruction_is_one_line(tmp_path: Path) -> None:
    """objdump keeps an fwait (9b) as a prefix of the x87 instruction after it: `9b dd d8` is
    one line `fstp %st(0)`, `9b db e2` the waiting form `fclex`; before anything else it is an
    `fwait` of its own. In one block and across blocks, 64- and 32-bit."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    source = tmp_path / "fwait.s"
    source.write_text(
        ".text\n.globl f\nf:\n"
        ".byte 0x9b,0xdd,0xd8\n.byte 0x9b,0xd9,0xc9\n.byte 0x9b,0x90\n.byte 0x9b,0xdf,0xe0\n"
        ".byte 0x9b,0xd9,0x7d,0xfe\n.byte 0x9b,0xd8,0xc1\n.byte 0x9b,0xdb,0xe2\nret\n"
        ".globl g\ng:\nnop\n.byte 0x9b,0xdd,0xd9\nret\n"
    )
    built = 0
    for flags in ([], ["-m32"]):
        obj = tmp_path / f"fwait{''.join(flags)}.o"
        if subprocess.run([gcc, *flags, "-c", str(source), "-o", str(obj)], capture_output=True).returncode:
            continue  # no 32-bit assembler support
        assert_same_listing(obj)
        built += 1
    assert built >= 1


def test_i386_irelative_plt_entries_are_named_abs(tmp_path: Path) -> None:
    """A 32-bit library's IRELATIVE PLT entries (REL: the resolver's address is in the GOT slot,
    no addend in the relocation) are `*ABS*@plt`, as objdump names them."""
    need_tool("objdump")
    library = Path("/usr/lib32/libc.so.6")
    if not library.exists():
        pytest.skip("no 32-bit libc (/usr/lib32/libc.so.6; Debian's libc6-i386 provides it)")
    theirs = subprocess.run(
        ["objdump", "-d", "-j", ".plt", str(library)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    result = run_kernlab("disasm", str(library), "--section", ".plt", "--quiet")
    assert result.code == 0, result.stderr
    ours = [ANNOTATION.sub("", line) for line in result.stdout.splitlines() if not line.startswith("→ ")]
    assert ours == theirs
    relocations = subprocess.run(
        ["readelf", "-rW", str(library)], capture_output=True, text=True, check=True
    ).stdout
    if "R_386_IRELATIVE" in relocations:  # the case this test is for was there to be named
        assert any(line.endswith("<*ABS*@plt>:") for line in ours)
