"""Benchmark: Parquet export of a large recording, and a grouped query over it.

Workload: the 1 GiB first-touch recording of bench_report.py (tests/programs/rep_touch.c,
262,144 pages: ~262k page faults plus the program's system calls and scheduler events).
Measured, each the median of REPEAT runs:

  export        kernlab.reports.parquet.build(DIR, out_dir=...) in-process: rows of every table
                per second (decode + faults placed in the address space + Arrow + zstd Parquet)
  sql first     `kernlab sql QUERY DIR` with no cache: export into DIR/parquet, then the query
  sql cached    the same command again: DuckDB over DIR/parquet (process start-up included)
  query only    the query on an open DuckDB connection (the engine's own time)
  report        `kernlab report -d DIR --json`: the same figures from kernlab's own decoder

QUERY groups the faults by area kind and error code (the report's "faults by kind of area").

Usage: python benchmarks/bench_parquet.py [SIZE_MIB] [REPEAT]   (needs root and tracefs)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUERY = "SELECT vma_kind, error_code, count(*) AS faults FROM faults GROUP BY ALL ORDER BY faults DESC"
SQL = (
    "import sys; from kernlab.cli import main as m; "
    "m.COMMANDS.setdefault('sql', ('kernlab.cli.sql_cmd', 'sql', '')); "
    "sys.exit(m.main(['sql', *sys.argv[1:]]))"
)


def wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    pages = size_mib * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    from kernlab.reports import parquet, sql

    with tempfile.TemporaryDirectory(prefix="kernlab-bench-pq-") as tmp:
        work = Path(tmp)
        exe = work / "rep_touch"
        subprocess.run(["gcc", "-O1", "-o", str(exe), str(REPO / "tests/programs/rep_touch.c")], check=True)
        data = work / "rec"
        kernlab = [sys.executable, "-m", "kernlab"]
        subprocess.run(
            [*kernlab, "record", "-q", "-d", str(data), "--", str(exe), str(pages)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        exports, rows = [], 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = parquet.build(data, out_dir=work / "pq")
            exports.append(time.perf_counter() - t0)
            rows = result.rows
        firsts, cached = [], []
        for _ in range(repeat):
            shutil.rmtree(data / sql.CACHE_DIR, ignore_errors=True)
            firsts.append(wall([sys.executable, "-c", SQL, "--json", QUERY, str(data)]))
            cached.append(wall([sys.executable, "-c", SQL, "--json", QUERY, str(data)]))
        con = sql.connect([sql.SqlSource(str(data), str(data / sql.CACHE_DIR), "", 1, False)], [])
        query_only = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            con.execute(QUERY).fetchall()
            query_only.append(time.perf_counter() - t0)
        reports = [wall([*kernlab, "report", "-d", str(data), "--json"]) for _ in range(repeat)]
        faults = sql.build("SELECT count(*) FROM faults", [data]).rows[0][0]
    export = statistics.median(exports)
    print(f"recording: {size_mib} MiB first-touch, {faults:,} faults, {rows:,} rows in all tables")
    print(f"export      {export:7.3f} s   {rows / export:12,.0f} rows/s")
    print(f"sql first   {statistics.median(firsts):7.3f} s   (export to DIR/parquet + query, one command)")
    print(f"sql cached  {statistics.median(cached):7.3f} s")
    print(f"query only  {statistics.median(query_only) * 1000:7.1f} ms")
    print(f"report      {statistics.median(reports):7.3f} s   (kernlab report --json)")


if __name__ == "__main__":
    main()
