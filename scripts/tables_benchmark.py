"""Real tables at real sizes: reading, the data path and a 20-update fit against pandas and pyarrow.

Run through ``python scripts/benchmark.py --tables`` (or this file alone, same options;
``--trees OLD NEW --rows 1000000`` alternates two source trees' 20-update fits instead: a before/after; ``--ddp
--rows 1000000`` compares one process with two DDP processes holding their shards or the whole table;
``--versus --rows 10000000`` runs the fit on standardised inputs against ``import lightning.pytorch`` +
pandas' read of the same file and against scikit-learn's whole job, and times one update against
``X @ w`` plus ``Xᵀ g``; ``--trees OLD NEW --versus`` alternates the trees' standardised CSV and Parquet fits). For each
size a CSV of ``rows x 30`` numbers with a header and a 0/1 target (and the same rows as Parquet)
is written once; then every variant runs in a fresh process, the variants interleaved, ``repeats``
times; the tables give the median wall time and the median peak RSS (``VmHWM`` of that process
alone):

- ``import lightning.pytorch + pandas.read_csv``: the issue's yardstick;
- ``pandas.read_csv``, ``pyarrow.csv.read_csv``: the file read alone (no lightning);
- ``lit_basics reader``: ``ArrayDataModule(path=...)``: read, select, encode, float32 tensors;
- ``fit, 1 update`` (time to the first update) and ``fit, 20 updates``: ``lit-basics fit`` of
  ``LogisticRegression`` on the CSV (the exact optimum and the diagnosis included), and on Parquet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FEATURES = 30


def write_tables(directory: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """``rows x 30`` features of various scales and a 0/1 target, as CSV and Parquet."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.5, 100.0, FEATURES)
    offsets = rng.uniform(-50.0, 50.0, FEATURES)
    weights = rng.normal(size=FEATURES)
    columns: dict[str, Any] = {}
    logit = np.zeros(rows)
    chunk = 1_000_000
    parts: list[pa.Table] = []
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        z = rng.normal(size=(n, FEATURES))
        x = np.round(z * scales + offsets, 3)
        logit = z @ weights + rng.normal(size=n)
        columns = {f"x{j}": x[:, j] for j in range(FEATURES)}
        columns["y"] = (logit > 0).astype(np.int64)
        parts.append(pa.table(columns))
    table = pa.concat_tables(parts)
    csv_path, parquet_path = directory / f"t{rows}.csv", directory / f"t{rows}.parquet"
    pa_csv.write_csv(table, csv_path, write_options=pa_csv.WriteOptions(quoting_style="none"))
    pq.write_table(table, parquet_path, row_group_size=1 << 20)
    return csv_path, parquet_path


def _fit(path: Path, updates: int) -> str:
    return (
        "import sys; from lit_basics.cli import cli_main; "
        "cli_main(['fit', '--model=LogisticRegression', '--data=ArrayDataModule', "
        f"'--data.path={path}', '--trainer.max_steps={updates}', '--trainer.enable_progress_bar=false'])"
    )


def variants(csv_path: Path, parquet_path: Path) -> dict[str, str]:
    return {
        "import lightning.pytorch + pandas.read_csv": (
            f"import lightning.pytorch, pandas; pandas.read_csv({str(csv_path)!r})"
        ),
        "pandas.read_csv": f"import pandas; pandas.read_csv({str(csv_path)!r})",
        "pyarrow.csv.read_csv": f"import pyarrow.csv; pyarrow.csv.read_csv({str(csv_path)!r})",
        "lit_basics reader (CSV to float32 tensors)": (
            f"from lit_basics.data import ArrayDataModule; ArrayDataModule(path={str(csv_path)!r})"
        ),
        "lit_basics reader (Parquet to float32 tensors)": (
            f"from lit_basics.data import ArrayDataModule; ArrayDataModule(path={str(parquet_path)!r})"
        ),
        "fit, 1 update (CSV)": _fit(csv_path, 1),
        "fit, 20 updates (CSV)": _fit(csv_path, 20),
        "fit, 20 updates (Parquet)": _fit(parquet_path, 20),
    }


def _standardized_fit(path: Path, updates: int = 20) -> str:
    """The issue's command: ``lit-basics fit`` of ``LogisticRegression`` on standardised inputs."""
    return (
        "from lit_basics.cli import cli_main; "
        "cli_main(['fit', '--model=LogisticRegression', '--data=ArrayDataModule', "
        f"'--data.path={path}', '--data.target=y', '--data.scale=standardize', "
        f"'--trainer.max_steps={updates}', '--trainer.enable_progress_bar=false'])"
    )


#: scikit-learn's whole job on the same table: read, standardise, the exact optimum (lbfgs to 1e-8).
_SKLEARN = (
    "import pandas\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.preprocessing import StandardScaler\n"
    "frame = pandas.read_parquet({path!r})\n"
    "x, y = frame.drop(columns='y').to_numpy(), frame['y'].to_numpy()\n"
    "del frame\n"
    "LogisticRegression(penalty=None, tol=1e-8, max_iter=1000).fit(StandardScaler().fit_transform(x), y)\n"
)


def versus_variants(csv_path: Path, parquet_path: Path) -> dict[str, str]:
    """The issue's comparison: the fit against the yardsticks and scikit-learn's whole job."""
    return {
        "fit, 20 updates, standardize (Parquet)": _standardized_fit(parquet_path),
        "import lightning.pytorch + pandas.read_parquet": (
            f"import lightning.pytorch, pandas; pandas.read_parquet({str(parquet_path)!r})"
        ),
        "scikit-learn: read_parquet, StandardScaler, LogisticRegression (lbfgs, tol 1e-8)": _SKLEARN.format(
            path=str(parquet_path)
        ),
        "fit, 20 updates, standardize (CSV)": _standardized_fit(csv_path),
        "import lightning.pytorch + pandas.read_csv": (
            f"import lightning.pytorch, pandas; pandas.read_csv({str(csv_path)!r})"
        ),
    }


def versus(rows: int, repeats: int, workdir: Path) -> list[dict]:
    """:func:`versus_variants` on a ``rows x 30`` table, interleaved, ``repeats`` rounds: medians,
    and each fit over its yardstick and over scikit-learn's job."""
    data = Path(tempfile.mkdtemp(dir=workdir))
    csv_path, parquet_path = write_tables(data, rows)
    codes = versus_variants(csv_path, parquet_path)
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in codes}
    for _ in range(repeats):
        for name, code in codes.items():
            run_dir = Path(tempfile.mkdtemp(dir=workdir))
            samples[name].append(_peak_rss_child(code, run_dir))
            shutil.rmtree(run_dir)
    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    names = list(codes)
    over = {
        names[0]: {"yardstick": wall[names[0]] / wall[names[1]], "scikit-learn": wall[names[0]] / wall[names[2]]},
        names[3]: {"yardstick": wall[names[3]] / wall[names[4]]},
    }
    results = [
        {
            "rows": rows,
            "csv_bytes": csv_path.stat().st_size,
            "parquet_bytes": parquet_path.stat().st_size,
            "data_float32_bytes": rows * FEATURES * 4,
            "variant": name,
            "wall_s": wall[name],
            "wall_samples": [w for w, _ in values],
            "peak_rss_bytes": int(statistics.median(p for _, p in values)),
            "over": over.get(name, {}),
        }
        for name, values in samples.items()
    ]
    results.append(update_ratio(parquet_path, workdir))
    shutil.rmtree(data)
    return results


#: One update of the issue's fit, timed from Lightning's batch-start to batch-end hooks (forward,
#: loss, metrics, backward, the SGD step and the step's logging), against ``X @ w`` plus ``Xᵀ g`` on
#: the data module's own float32 tensor.
_UPDATE_RATIO = """
import json, statistics, sys, time
import torch
from lightning.pytorch import Callback
from lit_basics.cli import cli_main
TIMES = []
class StepTimes(Callback):
    def on_train_batch_start(self, *args):
        self.start = time.perf_counter()
    def on_train_batch_end(self, *args):
        TIMES.append(time.perf_counter() - self.start)
cli = cli_main(['fit', '--model=LogisticRegression', '--data=ArrayDataModule', '--data.path={path}',
                '--data.target=y', '--data.scale=standardize', '--trainer.max_steps={updates}',
                '--trainer.enable_progress_bar=false', '--trainer.callbacks+=__main__.StepTimes'])
x = cli.datamodule.x
w = torch.randn(x.shape[1], 1)
g = torch.randn(x.shape[0], 1)
products = []
for _ in range({updates}):
    start = time.perf_counter()
    x @ w
    x.T @ g
    products.append(time.perf_counter() - start)
print(json.dumps({{"update_s": statistics.median(TIMES[1:]), "products_s": statistics.median(products[1:])}}))
"""


def update_ratio(path: Path, workdir: Path, updates: int = 10) -> dict:
    """:data:`_UPDATE_RATIO` in a fresh process: the medians after the first of each."""
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    code = _UPDATE_RATIO.format(path=str(path), updates=updates)
    done = subprocess.run([sys.executable, "-c", code], cwd=run_dir, capture_output=True, text=True)
    shutil.rmtree(run_dir)
    if done.returncode:
        raise RuntimeError(f"benchmark child failed: {done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "variant": "one update / (X @ w + Xᵀ g)",
        "update_s": measured["update_s"],
        "products_s": measured["products_s"],
        "ratio": measured["update_s"] / measured["products_s"],
    }


#: Printed by every child at exit: its own peak (VmHWM of its address space). ``wait4``'s ``ru_maxrss``
#: would count the forked copy of this (large) process from before ``exec``.
_REPORT_PEAK = (
    "import atexit\n"
    "def _peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('VmHWM', int(status.split('VmHWM:')[1].split()[0]) * 1024)\n"
    "atexit.register(_peak)\n"
)


def _peak_rss_child(code: str, cwd: Path, tree: Path | None = None) -> tuple[float, int]:
    """Run ``python -c code`` in ``cwd`` (with ``tree``'s ``lit_basics`` first on the path): its
    wall seconds and its peak RSS in bytes."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree.resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _REPORT_PEAK + code], cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"benchmark child failed: {done.stderr[-2000:]}")
    peak = int(done.stdout.rsplit("VmHWM", 1)[1].split()[0])
    return wall, peak


def tables(rows: tuple[int, ...], repeats: int, workdir: Path) -> list[dict]:
    """The measurements, one row per (size, variant)."""
    results = []
    for n in rows:
        data = Path(tempfile.mkdtemp(dir=workdir))
        csv_path, parquet_path = write_tables(data, n)
        codes = variants(csv_path, parquet_path)
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name in codes}
        for _ in range(repeats):
            for name, code in codes.items():  # interleaved: every variant once per round
                run_dir = Path(tempfile.mkdtemp(dir=workdir))
                samples[name].append(_peak_rss_child(code, run_dir))
                shutil.rmtree(run_dir)
        base = statistics.median(w for w, _ in samples["import lightning.pytorch + pandas.read_csv"])
        for name, values in samples.items():
            wall = statistics.median(w for w, _ in values)
            results.append(
                {
                    "rows": n,
                    "csv_bytes": csv_path.stat().st_size,
                    "parquet_bytes": parquet_path.stat().st_size,
                    "data_float32_bytes": n * FEATURES * 4,
                    "variant": name,
                    "wall_s": wall,
                    "wall_samples": [w for w, _ in values],
                    "peak_rss_bytes": int(statistics.median(p for _, p in values)),
                    "over_yardstick": wall / base,
                }
            )
        shutil.rmtree(data)
    return results


def before_after(trees: list[Path], rows: int, repeats: int, workdir: Path, standardized: bool = False) -> list[dict]:
    """The 20-update CSV fit of each source tree (``standardized``: the issue's fit on standardised
    inputs, CSV and Parquet), the trees alternated, ``repeats`` rounds."""
    data = Path(tempfile.mkdtemp(dir=workdir))
    csv_path, parquet_path = write_tables(data, rows)
    codes = (
        {
            "fit, 20 updates, standardize (CSV)": _standardized_fit(csv_path),
            "fit, 20 updates, standardize (Parquet)": _standardized_fit(parquet_path),
        }
        if standardized
        else {"fit, 20 updates (CSV)": _fit(csv_path, 20)}
    )
    samples: dict[tuple[Path, str], list[tuple[float, int]]] = {(t, n): [] for t in trees for n in codes}
    for _ in range(repeats):
        for name, code in codes.items():
            for tree in trees:
                run_dir = Path(tempfile.mkdtemp(dir=workdir))
                samples[tree, name].append(_peak_rss_child(code, run_dir, tree))
                shutil.rmtree(run_dir)
    shutil.rmtree(data)
    return [
        {
            "tree": str(tree),
            "rows": rows,
            "variant": name,
            "wall_s": statistics.median(w for w, _ in values),
            "wall_samples": [w for w, _ in values],
            "peak_rss_bytes": int(statistics.median(p for _, p in values)),
        }
        for (tree, name), values in samples.items()
    ]


#: A fit whose every process (DDP launches each with this script again) prints its own peak RSS.
#: The processes share one stderr pipe and print() writes its arguments one by one, so two
#: processes' words could interleave ("VmHWMVmHWM 0 ..."): each line is one write(2) instead.
_DDP_SCRIPT = (
    "import atexit, os, sys\n"
    "def _peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    peak = int(status.split('VmHWM:')[1].split()[0]) * 1024\n"
    "    rank = os.environ.get('LOCAL_RANK', '0')\n"
    "    os.write(2, f'VmHWM {rank} {peak}\\n'.encode())\n"
    "atexit.register(_peak)\n"
    "from lit_basics.cli import cli_main\n"
    "cli_main(sys.argv[1:])\n"
)

#: The DDP section's variants: one process; two processes each holding its shard (shard=True,
#: what lit-basics fit sets by itself); two processes each reading the whole table (shard=False).
DDP_VARIANTS = {
    "1 process": ["--trainer.devices=1"],
    "2 processes, each its shard": ["--trainer.devices=2", "--trainer.strategy=ddp"],
    "2 processes, each the whole table": [
        "--trainer.devices=2",
        "--trainer.strategy=ddp",
        "--data.init_args.shard=false",
    ],
}


def ddp(rows: int, repeats: int, workdir: Path, updates: int = 20) -> list[dict]:
    """``lit-basics fit`` of ``LogisticRegression`` (``updates`` updates) on the ``rows x 30`` CSV
    in one process and in two CPU processes (DDP), the variants interleaved: wall time and each
    process's own peak RSS (``VmHWM``), medians over ``repeats`` rounds."""
    data = Path(tempfile.mkdtemp(dir=workdir))
    csv_path, _ = write_tables(data, rows)
    script = data / "fit_with_peaks.py"
    script.write_text(_DDP_SCRIPT)
    common = [
        "fit",
        "--model=LogisticRegression",
        "--data=ArrayDataModule",
        f"--data.init_args.path={csv_path}",
        "--trainer.accelerator=cpu",
        f"--trainer.max_steps={updates}",
        "--trainer.enable_progress_bar=false",
    ]
    samples: dict[str, list[tuple[float, list[int]]]] = {name: [] for name in DDP_VARIANTS}
    for _ in range(repeats):
        for name, extra in DDP_VARIANTS.items():
            run_dir = Path(tempfile.mkdtemp(dir=workdir))
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(script), *common, *extra], cwd=run_dir, capture_output=True, text=True
            )
            wall = time.perf_counter() - start
            if done.returncode:
                raise RuntimeError(f"benchmark child failed: {done.stderr[-2000:]}")
            peaks = [int(peak) for _, peak in re.findall(r"VmHWM (\d+) (\d+)", done.stderr)]
            processes = int(next(a for a in extra if a.startswith("--trainer.devices=")).split("=")[1])
            if len(peaks) != processes:
                raise RuntimeError(f"{name}: {len(peaks)} peak line(s) in: {done.stderr[-2000:]}")
            samples[name].append((wall, peaks))
            shutil.rmtree(run_dir)
    one = statistics.median(max(p) for _, p in samples["1 process"])
    results = []
    for name, values in samples.items():
        peak = statistics.median(max(p) for _, p in values)
        results.append(
            {
                "rows": rows,
                "csv_bytes": csv_path.stat().st_size,
                "variant": name,
                "updates": updates,
                "wall_s": statistics.median(w for w, _ in values),
                "wall_samples": [w for w, _ in values],
                "peak_rss_per_process_bytes": [
                    int(statistics.median(p[i] for _, p in values)) for i in range(len(values[0][1]))
                ],
                "largest_process_peak_bytes": int(peak),
                "over_one_process_peak": peak / one,
            }
        )
    shutil.rmtree(data)
    return results


def versus_markdown(rows: list[dict]) -> str:
    lines = [
        "| rows | variant | wall (median) | samples | peak RSS (median) | fit / yardstick | fit / scikit-learn |",
        "|---:|---|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        if "ratio" in row:
            continue
        over = row["over"]
        samples = ", ".join(f"{w:.1f}" for w in row["wall_samples"])
        yardstick = f"{over['yardstick']:.2f}" if "yardstick" in over else ""
        sklearn = f"{over['scikit-learn']:.2f}" if "scikit-learn" in over else ""
        lines.append(
            f"| {row['rows']:,} | {row['variant']} | {row['wall_s']:.1f} s | {samples} | "
            f"{row['peak_rss_bytes'] / 2**30:.2f} GiB | {yardstick} | {sklearn} |"
        )
    for row in rows:
        if "ratio" in row:
            lines.append(
                f"\nOne update: {row['update_s'] * 1e3:.0f} ms; X @ w + Xᵀ g: {row['products_s'] * 1e3:.0f} ms "
                f"(ratio {row['ratio']:.2f})."
            )
    return "\n".join(lines) + "\n"


def ddp_markdown(rows: list[dict]) -> str:
    lines = [
        "| rows | variant | wall (median) | peak RSS of each process (median) | largest / one process's |",
        "|---:|---|---:|---|---:|",
    ]
    for row in rows:
        peaks = ", ".join(f"{p / 2**30:.2f} GiB" for p in row["peak_rss_per_process_bytes"])
        lines.append(
            f"| {row['rows']:,} | {row['variant']} | {row['wall_s']:.1f} s | {peaks} | "
            f"{row['over_one_process_peak']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def markdown(rows: list[dict]) -> str:
    lines = [
        "| rows | CSV | variant | wall (median) | x yardstick | peak RSS (median) |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['rows']:,} | {row['csv_bytes'] / 1e6:.0f} MB | {row['variant']} | {row['wall_s']:.2f} s | "
            f"{row['over_yardstick']:.2f} | {row['peak_rss_bytes'] / 2**30:.2f} GiB |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="table sizes")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of interleaved runs")
    parser.add_argument("--out", default="benchmark-results", help="directory for tables.json and tables.md")
    parser.add_argument("--trees", type=Path, nargs="+", help="source trees to alternate (before/after) instead")
    parser.add_argument("--ddp", action="store_true", help="instead: 1 process against 2 DDP processes (--rows[0])")
    parser.add_argument(
        "--versus",
        action="store_true",
        help="instead: the fit against pandas' reads and scikit-learn (--rows[0]); with --trees: standardised fits",
    )
    options = parser.parse_args(argv)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    if options.versus and not options.trees:
        with tempfile.TemporaryDirectory() as workdir:
            result = versus(options.rows[0], options.repeats, Path(workdir))
        return _report(out / "tables_versus", result, versus_markdown(result))
    if options.ddp:
        with tempfile.TemporaryDirectory() as workdir:
            result = ddp(options.rows[0], options.repeats, Path(workdir))
        return _report(out / "tables_ddp", result, ddp_markdown(result))
    if options.trees:
        with tempfile.TemporaryDirectory() as workdir:
            result = before_after(options.trees, options.rows[0], options.repeats, Path(workdir), options.versus)
        (out / "tables_before_after.json").write_text(json.dumps(result, indent=2) + "\n")
        for row in result:
            walls = ", ".join(f"{w:.1f}" for w in row["wall_samples"])
            print(
                f"{row['tree']}: {row['variant']} on {row['rows']:,} rows: median {row['wall_s']:.2f} s "
                f"(samples {walls}), peak {row['peak_rss_bytes'] / 2**30:.2f} GiB"
            )
        return result
    with tempfile.TemporaryDirectory() as workdir:
        rows = tables(tuple(options.rows), options.repeats, Path(workdir))
    return _report(out / "tables", rows, markdown(rows))


def _report(stem: Path, result: list[dict], table: str) -> list[dict]:
    """``result`` written as ``stem.json`` and its markdown ``table`` as ``stem.md``, and printed."""
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(table)
    return result


if __name__ == "__main__":
    main()
