"""One boot per stock kernel and paging mode for the whole session: every VM test reads the
folder the guest wrote (tests/vm/guest_checks.sh), so the matrix costs three boots in all."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, compile_c
from tests.vm.guest import GuestRun, missing_tools, run_in_guest, stock_release

CHECKS = Path(__file__).parent / "guest_checks.sh"


@pytest.fixture(scope="session")
def stock_guests(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    """(generation, five_level) -> the folder its guest filled; booted on first use."""

    class Lazy(dict[tuple[str, bool], Path]):
        def __missing__(self, key: tuple[str, bool]) -> Path:
            generation, five_level = key
            reason = missing_tools()
            if reason:
                pytest.skip(reason)
            release = stock_release(generation)
            if release is None:
                pytest.skip(f"Debian's stock {generation} kernel is not installed (.ci/run installs it)")
            out = tmp_path_factory.mktemp(f"guest-{generation}-{'la57' if five_level else 'l4'}")
            hold = compile_c(PROGRAMS / "vm_highmap_hold.c", out / "hold")
            checks = "all" if five_level else "paging"
            script = f"bash {CHECKS} {out} {sys.executable} {hold} {checks}\n"
            run: GuestRun = run_in_guest(release, script, shared_dir=out, five_level=five_level)
            if run.code is None:
                # qemu sometimes exits at once with no output on a loaded host: boot once more.
                run = run_in_guest(release, script, shared_dir=out, five_level=five_level)
            (out / "console.txt").write_text(run.output)
            assert run.code == 0, run.output[-3000:]
            self[key] = out
            return out

    return Lazy()
