"""docs/API.md's examples run as written: the public API says what the docs say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kernlab

API_DOC = Path(__file__).parents[1] / "docs" / "API.md"
BLOCKS = re.findall(r"```python\n(.*?)```", API_DOC.read_text(), flags=re.S)


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, capsys):
    if "kernlab.record(" in BLOCKS[index]:
        from tests.recording.rec_util import need_tracing

        need_tracing()
    code = "import os\n" + BLOCKS[index]
    exec(compile(code, f"{API_DOC.name}[{index}]", "exec"), {"__name__": "api_example"})


def test_every_public_name_is_documented_and_exists():
    text = API_DOC.read_text()
    for name in kernlab.__all__:
        assert hasattr(kernlab, name), name
        if not name.startswith("__") and name[0].islower():
            assert f"kernlab.{name}(" in text, f"{name} has no example in docs/API.md"


def test_import_kernlab_loads_no_layer():
    import subprocess
    import sys

    code = "import kernlab, sys; print(sorted(m for m in sys.modules if m.startswith('kernlab.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['kernlab.errors']"
