"""The benchmark runs and writes well-formed results (its numbers go in docs/performance.md, not in asserts)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmark_writes_json_and_markdown(tmp_path):
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark.py"), "--quick", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "benchmark.json").read_text())
    assert report["mode"] == "quick"
    assert {"machine", "per_update", "data_path", "peak_rss", "startup"} <= set(report)
    variants = {row["variant"] for row in report["per_update"]}
    assert variants == {
        "automatic",
        "manual, 1 update per step",
        "manual, as configured",
        "manual, as configured, no figures",
        "manual, as configured, no figures, no per-update log",
        "manual, as configured, no callbacks, no logger",
    }
    for row in report["per_update"]:
        for key in ("raw_us", "bare_us", "project_us", "project_over_raw", "project_over_bare"):
            assert math.isfinite(row[key])
            assert row[key] > 0
    for row in report["data_path"]:
        assert row["loader_per_s"] > 0
        assert row["fit_per_s"] > 0
    assert report["startup"]["ratio"] > 0
    table = (out / "benchmark.md").read_text()
    assert "| model | project variant (config as shipped) | updates per step | raw notes loop |" in table
    assert table in done.stdout
    assert list(tmp_path.iterdir()) == [out]  # nothing else written


@pytest.mark.slow
def test_tables_benchmark_writes_every_variant(tmp_path):
    out = tmp_path / "results"
    arguments = ["--tables", "--table-rows", "2000", "--table-repeats", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark.py"), *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((out / "tables.json").read_text())
    assert {row["variant"] for row in rows} == {
        "import lightning.pytorch + pandas.read_csv",
        "pandas.read_csv",
        "pyarrow.csv.read_csv",
        "lit_basics reader (CSV to float32 tensors)",
        "lit_basics reader (Parquet to float32 tensors)",
        "fit, 1 update (CSV)",
        "fit, 20 updates (CSV)",
        "fit, 20 updates (Parquet)",
    }
    for row in rows:
        assert row["wall_s"] > 0
        assert 50 * 2**20 < row["peak_rss_bytes"] < 8 * 2**30  # a process's own peak, not this one's
    assert (out / "tables.md").read_text() in done.stdout
    assert list(tmp_path.iterdir()) == [out]  # nothing else written


@pytest.mark.slow
def test_tables_benchmark_ddp_section_reports_each_process(tmp_path):
    out = tmp_path / "results"
    arguments = ["--ddp", "--rows", "3000", "--repeats", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "tables_benchmark.py"), *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["variant"]: row for row in json.loads((out / "tables_ddp.json").read_text())}
    assert [len(rows[name]["peak_rss_per_process_bytes"]) for name in rows] == [1, 2, 2]
    assert rows["1 process"]["over_one_process_peak"] == 1.0
    assert (out / "tables_ddp.md").read_text() in done.stdout
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.slow
def test_tables_benchmark_versus_section_compares_with_scikit_learn(tmp_path):
    out = tmp_path / "results"
    arguments = ["--tables", "--versus", "--rows", "3000", "--table-repeats", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark.py"), *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((out / "tables_versus.json").read_text())
    timed = {row["variant"]: row for row in rows if "wall_s" in row}
    assert set(timed) == {
        "fit, 20 updates, standardize (Parquet)",
        "import lightning.pytorch + pandas.read_parquet",
        "scikit-learn: read_parquet, StandardScaler, LogisticRegression (lbfgs, tol 1e-8)",
        "fit, 20 updates, standardize (CSV)",
        "import lightning.pytorch + pandas.read_csv",
    }
    parquet = timed["fit, 20 updates, standardize (Parquet)"]
    assert parquet["over"]["scikit-learn"] > 0
    assert parquet["over"]["yardstick"] > 0
    (update,) = [row for row in rows if "ratio" in row]
    assert update["update_s"] > 0
    assert update["products_s"] > 0
    assert (out / "tables_versus.md").read_text() in done.stdout
    assert list(tmp_path.iterdir()) == [out]
