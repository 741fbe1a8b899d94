"""What `kernlab doctor` found, as catalog keys and fields: every key the probes use exists in both
languages, the English the probes keep (the JSON's ``detail``) is the catalog's English, errnos are
worded by the catalog, and a Korean table cell holds no English word outside its fields.

The English check (:func:`english_words`) removes a cell's fields — paths, events, files, errno
names, numbers, the C library's text of an errno the catalog does not list — and the commands a
use names (``kernlab vtop``, ``perf record -g``); what is left may hold code-like tokens (with
``_ / . : - +`` or digits), acronyms (two capitals or more: BPF, PMU, vCPU), words of fewer than
four letters, and the names of tools and kernel features listed in PROPER_NAMES. Any other word of
four letters or more is English in a Korean sentence.
"""

from __future__ import annotations

import ast
import errno
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from kernlab import catalog, explain
from kernlab.errors import NotSupported, TracingError
from kernlab.explain import doctor as said
from kernlab.reports import doctor
from kernlab.tracing import capabilities
from kernlab.tracing.capabilities import Capability, Phrase, error_phrase, why_refused
from tests.recording.rec_util import need_tracing

SRC = Path(capabilities.__file__).parents[1]
PROBE_FILES = (SRC / "tracing" / "capabilities.py", SRC / "reports" / "doctor.py")
# The catalog tables the probes' phrases come from.
DOCTOR_TABLES = (
    "doctor.detail.",
    "doctor.enables.",
    "doctor.paranoid.",
    "doctor.perf_errno.",
    "doctor.area.",
)

PROPER_NAMES = {
    # tools, commands and their words
    *("kernlab", "record", "perf", "qemu", "bpftrace", "kfunc", "drgn", "ioctl"),
    # projects and products
    *("Firecracker", "AutoFDO", "BOLT", "Intel"),
    # kernel features and files, spelt as the kernel spells them
    *("ftrace", "tracefs", "kprobes", "uprobes", "fentry", "fexit", "lockdown", "maps", "exec", "exit"),
    *("pagemap", "ptrace", "function"),  # /proc/PID/pagemap, the ptrace call, the function tracer
    "root",  # the user
}
COMMANDS = re.compile(r"kernlab [a-z]+(?: --[a-z-]+)?|perf record(?: -[a-z]+)?|record(?: -e| --[a-z]+)?")
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_./:+-]*")


def _values(fields: Mapping[str, object]) -> Iterator[str]:
    for value in fields.values():
        if isinstance(value, Phrase):
            yield from _values(value.fields)
        elif value is not None:
            yield str(value)


def english_words(text: str, fields: Mapping[str, object] | None = None) -> list[str]:
    """The English words of ``text`` outside its ``fields`` (see the module's docstring)."""
    for value in sorted(_values(fields or {}), key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    text = COMMANDS.sub(" ", text)
    text = re.sub(r"/[A-Za-z0-9_./-]+", " ", text)  # a path is data (/boot, /proc/kcore)
    words = []
    for token in TOKEN.findall(text):
        token = token.rstrip(".:-/")
        if (
            len(token) < 4
            or re.search(r"[_/.:+\-0-9]", token)
            or sum(ch.isupper() for ch in token) >= 2
            or token in PROPER_NAMES
        ):
            continue
        words.append(token)
    return words


@pytest.fixture
def korean() -> Iterator[None]:
    explain.set_language("ko")
    yield
    explain.set_language("en")


def _calls(name: str) -> Iterator[ast.Call]:
    for path in PROBE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                yield node


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_the_english_check_finds_english_and_passes_korean():
    assert english_words("refused: Operation not permitted (EPERM)") == ["refused", "Operation", "permitted"]
    assert english_words("available at the top level only") == ["available", "level", "only"]
    assert english_words("거부됨: 허용되지 않는 작업 (EPERM)") == []
    assert english_words("{x}에 프로브를 걸었습니다", {"x": "/bin/true:0x23d0"}) == []
    assert english_words("kernlab kernel --image와 kernlab disasm") == []
    assert english_words("kernel image") == ["kernel", "image"]
    # a field is left out only where it is a field
    assert english_words("mounted at /sys/kernel/tracing", {"path": "/sys/kernel/tracing"}) == ["mounted"]


def test_the_english_the_probes_keep_is_the_catalogs():
    english = catalog.sentences("en")
    calls = list(_calls("phrase"))
    assert len(calls) > 50
    for call in calls:
        key, text = (_literal(arg) for arg in call.args[:2])
        assert key is not None and text is not None, ast.dump(call)
        assert english.get(key) == text, (key, text, english.get(key))
    for key, text in [*capabilities.PARANOID_MEANING.values(), capabilities.PARANOID_NONE]:
        assert english[f"doctor.paranoid.{key}"] == text
    for key, text in doctor.PERF_ERRNO_MEANING.values():
        assert english[f"doctor.perf_errno.{key}"] == text


def test_every_use_a_probe_names_is_in_both_catalogs():
    names = {_literal(call.args[0]) for call in _calls("enabling")} - {None}
    names |= {use for _, use in capabilities.BPF_PROG_TYPES.values()} | {"record_default", "record_group"}
    english, korean = catalog.sentences("en"), catalog.sentences("ko")
    assert len(names) > 25
    for name in names:
        assert f"doctor.enables.{name}" in english and f"doctor.enables.{name}" in korean, name
    listed = {key.removeprefix("doctor.enables.") for key in english if key.startswith("doctor.enables.")}
    assert listed == names, listed ^ names


@pytest.mark.parametrize(
    "key",
    sorted(k for k in catalog.sentences("ko") if k.startswith(DOCTOR_TABLES) or k.startswith("oserror.")),
)
def test_korean_doctor_phrase_has_no_english_word(key):
    template = catalog.sentences("ko")[key]
    assert not english_words(re.sub(r"\{[^{}]*\}", " ", template)), (key, template)


def test_errnos_are_worded_by_the_catalog(korean):
    eperm = why_refused(OSError(errno.EPERM, "Operation not permitted"))
    assert str(eperm) == "refused: Operation not permitted (EPERM)"
    assert eperm.fields == {"errno": "EPERM", "strerror": "Operation not permitted"}
    assert said.phrase_text(eperm) == "거부됨: 허용되지 않는 작업 (EPERM)"
    for number in (errno.EACCES, errno.ENOENT, errno.EOPNOTSUPP, errno.EINVAL, errno.ENODEV, errno.EBUSY):
        text = said.phrase_text(why_refused(OSError(number, "C library words")))
        assert "C library" not in text and not english_words(text, {"errno": errno.errorcode[number]}), text
    # An errno the catalog does not list keeps the C library's words, with its name.
    rare = said.phrase_text(why_refused(OSError(errno.EL2HLT, "Level 2 halted")))
    assert rare == "거부됨: Level 2 halted (EL2HLT)"
    assert said.phrase_text(why_refused(None)) == "동작합니다"


def test_a_kernlab_error_keeps_its_key_and_fields(korean):
    error = NotSupported("no tracefs", key="errors.tracing.no_tracefs")
    assert error_phrase(error) == Phrase("errors.tracing.no_tracefs", {})
    assert str(error_phrase(error)) == "no tracefs"
    assert said.phrase_text(error_phrase(error)) == catalog.sentences("ko")["errors.tracing.no_tracefs"]
    # Without a key the error's own text is all there is.
    assert said.phrase_text(error_phrase(TracingError("odd"))) == "odd"
    missing = error_phrase(FileNotFoundError(errno.ENOENT, "No such file or directory", "/x"))
    assert str(missing) == "/x: No such file or directory (ENOENT)"
    assert said.phrase_text(missing) == "/x: 그런 파일이나 디렉터리가 없음 (ENOENT)"


def test_a_nested_phrase_is_said_in_its_own_words(korean):
    capability = Capability.found(
        "function tracer",
        True,
        capabilities.phrase(
            "doctor.detail.top_level_only",
            "available at the top level only ({instance}); tried there with a pid and function filter",
            instance=capabilities.phrase(
                "doctor.detail.not_in_instance", "not offered in a private instance"
            ),
        ),
    )
    assert "top level only" in capability.detail  # what tests/vm/test_stock_kernels.py reads
    text = said.detail(capability)
    assert text.startswith("최상위에서만 쓸 수 있습니다(전용 인스턴스에서는 제공되지 않습니다)"), text
    assert capability.detail_fields == {"instance": Phrase("doctor.detail.not_in_instance", {})}


@pytest.fixture(scope="module")
def probed() -> doctor.DoctorReport:
    need_tracing()
    return doctor.build()


def test_every_live_answer_has_a_key_both_catalogs_know(probed):
    english, korean = catalog.sentences("en"), catalog.sentences("ko")

    def keys(phrase: Phrase) -> Iterator[str]:
        yield phrase.key
        for value in phrase.fields.values():
            if isinstance(value, Phrase):
                yield from keys(value)

    for cap in probed.capabilities:
        assert cap.detail_key, cap
        for key in [*keys(cap.why), *(k for use in cap.enables for k in keys(use))]:
            assert key in english and key in korean, (cap.name, key)
        # The English detail is the sentence the view says in English.
        assert said.detail(cap) == cap.detail, cap


def test_no_live_answer_is_english_in_korean(probed, korean):
    for cap in probed.capabilities:
        detail, uses = said.detail(cap), said.enables(cap)
        assert not english_words(detail, cap.detail_fields), (cap.name, detail)
        fields = {f"{i}.{name}": v for i, use in enumerate(cap.enables) for name, v in use.fields.items()}
        assert not english_words(uses, fields), (cap.name, uses)
        assert not english_words(said.area(cap)), cap.area


def test_feature_names_and_the_verdict_are_korean(probed, korean):
    """The table's feature column and the verdict's list of features that did not work: the
    JSON keeps each feature's name, a Korean reader sees it in Korean."""
    for cap in probed.capabilities:
        label = said.feature_name(cap.name)
        # An event group's or BPF program type's name is kernel vocabulary, kept as it is.
        kept = cap.name.removeprefix("events: ").removeprefix("BPF ").removesuffix(" programs")
        assert not english_words(label, {"name": kept}), (cap.name, label)
    verdict = said.verdict(probed)
    assert not english_words(verdict, {"reason": probed.reason}), verdict


def test_feature_names_are_themselves_in_english(probed):
    for cap in probed.capabilities:
        assert said.feature_name(cap.name) == cap.name
