"""What a finished `kernlab record` did, in words."""

from __future__ import annotations

from kernlab.explain import count, has, say
from kernlab.recording.layout import RecordingMeta
from kernlab.recording.notes import Note
from kernlab.reports.record import RecordReport
from kernlab.units import format_bytes

__all__ = ["kept_previous", "notes", "summary_sentences"]


def summary_sentences(report: RecordReport) -> list[str]:
    """How much was recorded of what, what was lost, the command's faults and exit status."""
    meta = report.meta
    if report.target == "system":
        what = say("record.what_system")
    elif report.target == "kernel_thread":
        what = say("record.what_kthread", pid=meta.root_pid)
    elif meta.command:
        what = say("record.what_command", command=" ".join(meta.command))
    else:
        what = say("record.what_pid", pid=meta.root_pid)
    lost_cpus = [c.label for c in meta.loss if c.lost]
    loss = (
        count("record.loss", meta.lost_events, cpus=", ".join(lost_cpus))
        if meta.lost_events
        else say("record.no_loss")
    )
    sentences = [
        say(
            "record.summary",
            events=count("record.n.event", report.events_read),
            size=format_bytes(report.raw_bytes),
            what=what,
            directory=report.directory,
            loss=loss,
        )
    ]
    if meta.rusage is not None:
        sentences.append(say("record.faults", minflt=meta.rusage.minflt, majflt=meta.rusage.majflt))
    seconds = f"{(meta.end_time_ns - meta.start_time_ns) / 1e9:.1f}"
    if report.target == "system":
        sentences.append(say("record.attached_system", seconds=seconds))
    elif report.target == "kernel_thread":
        sentences.append(say("record.attached_kthread", pid=meta.root_pid, seconds=seconds))
    elif meta.attached:
        sentences.append(say("record.attached", pid=meta.root_pid, seconds=seconds))
    elif meta.exit_code is not None:
        sentences.append(say("record.exit", code=meta.exit_code))
    return sentences


def kept_previous(report: RecordReport) -> str | None:
    """The one line saying where the recording that was at the directory went (``DIR.old``)."""
    if report.previous is None:
        return None
    return say("record.kept_previous", directory=report.directory, old=report.previous)


def library_probes_warning() -> str:
    """Library probes are not private: the one line said before they are placed."""
    return say("record.library_probes")


def notes(meta: RecordingMeta) -> list[str]:
    """The recorder's notes, each worded from its catalog key in the current language.

    ``meta.notes`` says which notes there are, in order; a note with no key (a recording made
    before notes had keys, or one added as text) is said as it was written, in English."""
    keyed: dict[str, list[Note]] = {}
    for phrase in meta.note_phrases:
        keyed.setdefault(phrase.text, []).append(phrase)
    out = []
    for written in meta.notes:
        same = keyed.get(written)
        out.append(_word(same.pop(0)) if same else written)
    return out


def _word(phrase: Note) -> str:
    """The note in the current language; its English text when this kernlab has no such key or
    the fields do not fit it (a recording made by another version)."""
    if not phrase.key.startswith("record.note.") or not has(phrase.key):
        return phrase.text
    try:
        return say(phrase.key, **phrase.fields)
    except (KeyError, IndexError, ValueError, TypeError):
        return phrase.text
