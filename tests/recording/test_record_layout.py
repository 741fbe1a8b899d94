"""The recording directory contract: meta.json round trip and clear errors for bad input."""

from __future__ import annotations

import json

import pytest

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.recording.layout import read_meta, write_meta
from tests.recording.rec_util import sample_meta as _meta


def test_round_trip_keeps_everything(tmp_path):
    meta = _meta()
    write_meta(tmp_path, meta)
    back = read_meta(tmp_path)
    assert back == meta
    assert back.lost_events == 6 and back.loss[0].lost == 6 and back.loss[1].lost == 0
    data = json.loads((tmp_path / layout.META).read_text())
    assert data["lost_events"] == 6 and data["loss"][0]["lost"] == 6
    assert isinstance(data["root_pid"], int)
    assert not (tmp_path / (layout.META + ".tmp")).exists()


def test_unknown_keys_are_ignored(tmp_path):
    data = layout.meta_to_dict(_meta())
    data["future_field"] = {"x": 1}
    data["loss"][0]["future"] = 1
    (tmp_path / layout.META).write_text(json.dumps(data))
    assert read_meta(tmp_path).root_pid == 1234


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00\xff garbage", "cannot read"),
        (b"[1, 2]", "not kernlab recording metadata"),
        (b'{"format_version": 99}', "upgrade kernlab"),
        (b'{"format_version": 1, "command": 5}', "damaged"),
    ],
)
def test_bad_meta_is_bad_input(tmp_path, content, words):
    (tmp_path / layout.META).write_bytes(content)
    with pytest.raises(BadInput, match=words):
        read_meta(tmp_path)


def test_missing_recording_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="not a recording directory"):
        read_meta(tmp_path / "nope")
    with pytest.raises(BadInput, match=r"no meta\.json"):
        read_meta(tmp_path)
    (tmp_path / layout.META).mkdir()
    with pytest.raises(BadInput):
        read_meta(tmp_path)


def test_paths():
    assert layout.cpu_raw_path("d", 3).as_posix() == "d/cpus/cpu3.raw"
    assert (
        layout.format_path("d", "sched", "sched_switch").as_posix() == "d/formats/sched/sched_switch/format"
    )
    assert layout.maps_path("d", 7, 2, "exit").as_posix() == "d/maps/7.2.exit.maps"
