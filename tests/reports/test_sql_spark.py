"""The Parquet export is what a cluster engine reads: Apache Spark in local mode, over the same
files, answers the grouped queries as DuckDB (`kernlab sql`) does. Needs pyspark and Java."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.recording.pq_util import record_three

pytestmark = pytest.mark.slow
pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")
pyspark_sql = pytest.importorskip("pyspark.sql")

QUERIES = (
    "SELECT name, count(*) AS calls, sum(duration_ns) AS total_ns FROM syscalls "
    "WHERE returned GROUP BY name ORDER BY name",
    "SELECT recording_id, vma_kind, error_code, count(*) AS faults, min(address) AS lowest FROM faults "
    "GROUP BY recording_id, vma_kind, error_code ORDER BY recording_id, vma_kind, error_code",
    "SELECT event, count(*) AS events FROM sched GROUP BY event ORDER BY event",
)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("kernlab-parquet-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark")))
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_answers_as_duckdb(spark, tmp_path_factory):
    from kernlab.reports import sql

    dirs = record_three(tmp_path_factory.mktemp("spark-rec"))
    sql.build("SELECT 1", dirs)  # the export each recording keeps in DIR/parquet
    for table in ("syscalls", "faults", "sched"):
        files = [str(d / sql.CACHE_DIR / f"{table}.parquet") for d in dirs]
        spark.read.option("mergeSchema", "true").parquet(*files).createOrReplaceTempView(table)
    for query in QUERIES:
        duck = sql.build(query, dirs).rows
        rows = [
            [int(v) if hasattr(v, "to_integral_value") else v for v in r] for r in spark.sql(query).collect()
        ]
        assert rows == duck, query
        assert duck
