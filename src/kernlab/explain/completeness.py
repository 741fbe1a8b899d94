"""Whether a recording is complete and whole, in words: said first by every report of one."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count as counted
from kernlab.recording.reader import FileDamage, LossSummary
from kernlab.recording.state import Completeness

__all__ = [
    "completeness_sentences",
    "damage_sentences",
    "loss_unknown_sentence",
    "none_read_sentence",
    "truth_sentences",
]


def completeness_sentences(state: Completeness | None) -> list[str]:
    """Nothing for a complete recording; else that it was cut short, why, and the span it covers."""
    if state is None or state.complete:
        return []
    out = [
        say(f"report.state.{state.cause or 'unknown'}", pid=state.recorder_pid, detail=state.detail or "?")
    ]
    if state.last_ts:
        out.append(say("report.state.span", seconds=state.span_ns / 1e9))
    else:
        out.append(say("report.state.span_none"))
    return out


def damage_sentences(damage: list[FileDamage]) -> list[str]:
    """That the recording is damaged, then each file: where, and how much was skipped."""
    if not damage:
        return []
    out = [say("report.state.damaged")]
    for d in damage:
        if d.missing:
            out.append(say("report.damage.missing", file=d.file))
            continue
        if d.unreadable:
            out.append(say("report.damage.not_stream", file=d.file, length=counted("report.n.byte", d.size)))
            continue
        if d.damaged_pages:
            first = d.damaged_offsets[0] if d.damaged_offsets else 0
            if d.damaged_pages == 1:
                out.append(say("report.damage.pages_one", file=d.file, offset=first))
            else:
                out.append(say("report.damage.pages_many", file=d.file, count=d.damaged_pages, offset=first))
        if d.torn_bytes:
            out.append(
                say(
                    "report.damage.torn",
                    file=d.file,
                    torn=counted("report.n.byte", d.torn_bytes),
                    offset=d.size - d.torn_bytes,
                )
            )
        if d.unknown_records:
            out.append(
                say(
                    "report.damage.unknown",
                    file=d.file,
                    records=counted("report.n.unknown_record", d.unknown_records),
                )
            )
    return out


def loss_unknown_sentence(state: Completeness | None, damaged: bool, lost: int) -> str | None:
    """Why the number of lost events cannot be proven; None when the saved statistics prove it."""
    if state is not None and not (state.complete and state.stats_saved):
        return say("report.lost.unknown_cut")
    if damaged:
        return say("report.lost.unknown_damaged", lost=lost)
    return None


def truth_sentences(state: Completeness | None, damage: list[FileDamage]) -> list[str]:
    """What a report says before anything else: cut short (why, the span) and what is damaged."""
    return completeness_sentences(state) + damage_sentences(damage)


def none_read_sentence(loss: LossSummary) -> str:
    """No fault event was read from a recording that is cut short or damaged: they may be in
    what is missing (never "not enabled, or none fired")."""
    if loss.damage:
        return say("report.state.faults_damaged")
    return say("report.state.faults_cut")
