# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.sql: a `kernlab sql` result and a `dump --parquet` export of fixed figures, printed
in-process and compared with golden text; the warnings for sources that are not whole."""

from __future__ import annotations

from kernlab.recording.export.parquet import WrittenTable
from kernlab.render import terminal
from kernlab.render.output import Output
from kernlab.render.views import sql as view
from kernlab.reports.parquet import ParquetExport
from kernlab.reports.sql import SqlReport, SqlSource
from tests.render.test_view_recording_text import DAMAGE, GOLDEN_TRUTH, KILLED, assert_korean, korean
from tests.render.test_views_ko import Labels, _check

CACHED = SqlSource("runs/ls.data", "runs/ls.data/parquet", "3f9a0c1d2e4b5a69", 1, exported=True)
IN_MEMORY = SqlSource("/mnt/ro/make.data", None, "77c0e1aa9b3d2f10", 1, exported=True)
CUT_SHORT = SqlSource(
    "runs/old.data",
    "runs/old.data/parquet",
    "0b1c2d3e4f5a6b7c",
    1,
    exported=False,
    complete=False,
    cause="killed",
    damaged_files=["cpus/cpu1.raw"],
)
QUERY = "SELECT name, count(*) AS calls, sum(duration_ns)/1e6 AS ms, bool_or(error IS NOT NULL) AS failed FROM syscalls GROUP BY name ORDER BY calls DESC"


def _result() -> SqlReport:
    return SqlReport(
        QUERY,
        ["name", "calls", "ms", "failed"],
        ["VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN"],
        [["read", 1523, 12.4873, False], ["openat", 212, 0.918211, True], [None, 3, 1e16, None]],
        [CACHED, IN_MEMORY, CUT_SHORT],
        ["syscalls", "faults"],
        ["runs/old.data"],
    )


def _export() -> ParquetExport:
    return ParquetExport(
        "out/parquet",
        "runs/ls.data",
        "3f9a0c1d2e4b5a69",
        "build-7",
        "6.1.0-40-amd64",
        1,
        [
            WrittenTable("syscalls", "out/parquet/syscalls.parquet", 152_301, 2, 3_904_512),
            WrittenTable("faults", "out/parquet/faults.parquet", 1, 1, 2048),
            WrittenTable("functions", "out/parquet/functions.parquet", 0, 0, 512),
        ],
    )


GOLDEN = """\

 name     calls         ms   failed
 ──────────────────────────────────
 read      1523    12.4873   false
 openat     212   0.918211   true
              3      1e+16

→ 3 rows from 3 recordings, answered by DuckDB over the Parquet tables (docs/PARQUET.md lists their columns).
→ 1 recording exported to Parquet for this query first (the first one to runs/ls.data/parquet); the next query reads those files as they are.
→ 1 recording could not be written to and went to DuckDB from memory; nothing was saved for the next query.
"""

GOLDEN_KO = """\

 name     calls         ms   failed
 ──────────────────────────────────
 read      1523    12.4873   false
 openat     212   0.918211   true
              3      1e+16

→ 기록 3개에서 나온 행 3개입니다; DuckDB가 Parquet 테이블에 대해 답했습니다 (열은 docs/PARQUET.md에 있습니다).
→ 이 질의를 위해 먼저 기록 1개를 Parquet으로 내보냈습니다 (첫 번째는 runs/ls.data/parquet); 다음 질의는 그 파일을 그대로 읽습니다.
→ 기록 1개는 쓸 수 없어 메모리에서 DuckDB로 넘겼습니다; 다음 질의를 위해 저장한 것은 없습니다.
"""

GOLDEN_EXPORT = """\

 table          rows   row groups       bytes   file
 ────────────────────────────────────────────────────────────────────────────
 syscalls    152,301            2   3,904,512   out/parquet/syscalls.parquet
 faults            1            1       2,048   out/parquet/faults.parquet
 functions         0            0         512   out/parquet/functions.parquet

→ Wrote 3 Parquet tables with 152,302 rows to out/parquet (schema version 1); query them with `kernlab sql --parquet out/parquet "SELECT …"`, DuckDB, Spark or any engine that reads Parquet.
"""


def test_result_table_and_where_it_came_from(capsys):
    view.show(_result(), Output())
    captured = capsys.readouterr()
    assert captured.out == GOLDEN
    assert captured.err == ""  # the warnings are warn_sources' (the command calls it)


def test_result_in_korean(capsys):
    with korean() as missed:
        view.show(_result(), Output())
        view.warn_sources(_result())
    captured = capsys.readouterr()
    assert captured.out == GOLDEN_KO
    assert captured.err == (
        "kernlab: 경고: runs/old.data는 도중에 끊기고(kernlab record가 강제 종료되었거나 비정상 종료됨) 손상된 기록입니다"
        "(cpus/cpu1.raw를 온전히 읽지 못했습니다): 행은 읽을 수 있었던 것뿐입니다.\n"
    )
    assert_korean(captured.out + captured.err, missed, "sql")


def test_no_rows_one_recording_and_a_statement_without_columns(capsys):
    view.show(SqlReport("SELECT 1 AS x WHERE false", ["x"], ["INTEGER"], [], [CACHED]), Output())
    assert capsys.readouterr().out == (
        "\n x\n ─\n\n"
        "→ 0 rows from 1 recording, answered by DuckDB over the Parquet tables (docs/PARQUET.md lists their columns).\n"
        "→ 1 recording exported to Parquet for this query first (the first one to runs/ls.data/parquet); the next query reads those files as they are.\n"
    )
    # Nothing exported by this run (a current cache), one row, no column table for a statement.
    cached = SqlSource("runs/ls.data", "runs/ls.data/parquet", "3f9a0c1d2e4b5a69", 1, exported=False)
    view.show(SqlReport("SELECT 42 AS answer", ["answer"], ["INTEGER"], [[42]], [cached, cached]), Output())
    assert capsys.readouterr().out == (
        "\n answer\n ──────\n     42\n\n"
        "→ 1 row from 2 recordings, answered by DuckDB over the Parquet tables (docs/PARQUET.md lists their columns).\n"
    )
    view.show(SqlReport("CREATE VIEW v AS SELECT 1", [], [], [], [CACHED, CACHED]), Output(quiet=True))
    assert capsys.readouterr().out == ""


def test_cells_as_duckdbs_shell_prints_them():
    assert [view.cell(v) for v in (None, True, False, 0.1 + 0.2, 1e16, 7, "x")] == [
        "",
        "true",
        "false",
        "0.3",
        "1e+16",
        "7",
        "x",
    ]


def test_warnings_for_sources_that_are_not_whole(capsys):
    cut = SqlSource("a.data", None, "1", 1, False, complete=False, cause="disk_full")
    damaged = SqlSource("b.data", None, "2", 1, False, damaged_files=["cpus/cpu0.raw", "cpus/cpu2.raw"])
    unknown = SqlSource("c.data", None, "3", 1, False, complete=False, cause=None)
    view.warn_sources(
        SqlReport("SELECT 1", ["1"], ["INTEGER"], [[1]], [CACHED, cut, damaged, unknown, CUT_SHORT])
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "kernlab: warning: a.data was cut short (the disk holding it filled up): its rows cover only what was recorded before it stopped; the events after that are missing.\n"
        "kernlab: warning: b.data is damaged: cpus/cpu0.raw, cpus/cpu2.raw could not be read whole, so the rows of the unreadable pages are missing.\n"
        "kernlab: warning: c.data was cut short (it was never finalised): its rows cover only what was recorded before it stopped; the events after that are missing.\n"
        "kernlab: warning: runs/old.data was cut short (kernlab record was killed or crashed) and is damaged (cpus/cpu1.raw could not be read whole): its rows cover only what could be read.\n"
    )


def test_export_of_a_whole_recording(capsys):
    view.show_export(_export(), Output())
    assert capsys.readouterr().out == GOLDEN_EXPORT


def test_export_of_a_recording_cut_short_and_damaged_says_so_first(capsys):
    import dataclasses

    view.show_export(
        dataclasses.replace(_export(), completeness=KILLED, damage=DAMAGE[:1]), Output(quiet=True)
    )
    first = GOLDEN_TRUTH.split("→ cpus/cpu1.raw")[0]
    assert capsys.readouterr().out == first + GOLDEN_EXPORT.split("→")[0]


def test_export_sentence_in_korean(capsys):
    with korean() as missed:
        view.show_export(_export(), Output())
    out = capsys.readouterr().out
    assert out.endswith(
        "→ out/parquet에 행 152,302개를 담은 Parquet 테이블 3개를 썼습니다 (스키마 버전 1); "
        '`kernlab sql --parquet out/parquet "SELECT …"`, DuckDB, Spark 등 Parquet을 읽는 엔진으로 질의하십시오.\n'
    )
    assert_korean(out, missed, "sql")


def test_export_headers_in_korean(monkeypatch):
    seen = Labels()
    monkeypatch.setattr(terminal, "print_table", seen.table)
    with korean():
        view.show_export(_export(), Output(quiet=True))
    _check(seen)
