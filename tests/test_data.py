"""The data modules: the notes' data exactly, the loader's batches, splits, shards, bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_basics.data import (
    ArrayDataModule,
    DataFileError,
    FullBatch,
    IrisDataModule,
    LinearDataModule,
    LogisticDataModule,
    PolynomialDataModule,
    ResidentBatches,
    default_iris_path,
    default_logistic_path,
)
from lit_basics.notes_loops import notes_logistic_data

REPO = Path(__file__).resolve().parents[1]


def test_linear_data_is_the_notes_points():
    dm = LinearDataModule()
    assert dm.x.shape == (15, 1)
    assert dm.x.dtype == torch.float32
    assert dm.x[6, 0].item() == np.float32(9.779)
    assert dm.y[-1, 0].item() == np.float32(1.3)


def test_polynomial_data_is_the_notes_cubic():
    dm = PolynomialDataModule()
    x = np.arange(-3, 3.1, 0.1)
    y = 0.9 + 0.5 * x + 3 * x**2 + 2.4 * x**3
    assert dm.x.shape == (61, 1)
    assert np.array_equal(dm.x.numpy().ravel(), x)
    assert np.array_equal(dm.y.numpy().ravel(), y.astype(np.float32))


def test_polynomial_noise_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    a = PolynomialDataModule(noise_std=0.5, seed=1)
    after = torch.rand(1)
    torch.manual_seed(0)
    b = PolynomialDataModule(noise_std=0.5, seed=1)
    assert torch.equal(torch.rand(1), after)
    assert torch.equal(a.y, b.y)
    assert not torch.equal(a.y, PolynomialDataModule().y)


def test_logistic_data_is_the_notes_scaling():
    dm = LogisticDataModule()
    x, y = notes_logistic_data()
    assert torch.equal(dm.x, x)
    assert torch.equal(dm.y, y)


def test_iris_is_fishers_table():
    dm = IrisDataModule()
    assert dm.x.shape == (150, 4)
    assert dm.y.shape == (150, 1)
    assert dm.y.dtype == torch.int64
    assert dm.y.flatten().bincount().tolist() == [50, 50, 50]
    assert dm.num_classes == 3
    assert dm.num_features == 4
    # Fisher (1936) column means (cm), and the first and last flowers.
    assert dm.x.double().mean(dim=0).tolist() == pytest.approx([5.843333, 3.057333, 3.758, 1.199333], abs=1e-6)
    assert dm.x[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])
    assert dm.x[-1].tolist() == pytest.approx([5.9, 3.0, 5.1, 1.8])
    assert default_iris_path().is_file()


def test_array_data_module_takes_integer_class_labels(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("0.1,0.2,0\n0.3,0.1,2\n0.5,0.5,1\n")
    dm = ArrayDataModule(path=str(path), num_classes=3)
    assert dm.y.dtype == torch.int64
    assert dm.y.flatten().tolist() == [0, 2, 1]
    assert dm.num_classes == 3
    assert ArrayDataModule(path=str(path)).num_classes is None


@pytest.mark.parametrize("label", ["3", "-1", "1.5", "2.0000001"])
def test_class_labels_outside_zero_to_c_minus_one_name_file_and_line(tmp_path, label):
    path = tmp_path / "labels.csv"
    path.write_text(f"0.1,0.2,0\n\n0.3,0.1,{label}\n0.5,0.5,1\n")  # the bad label is on line 3
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: class label must be an integer in 0..2"):
        ArrayDataModule(path=str(path), num_classes=3)


def test_class_labels_from_arrays_are_checked():
    with pytest.raises(ValueError, match=r"^y must hold class labels 0..1; row 1 holds 2"):
        ArrayDataModule(x=[[0.0], [1.0]], y=[0, 2], num_classes=2)
    with pytest.raises(ValueError, match=r"^num_classes must be null"):
        ArrayDataModule(x=[[0.0], [1.0]], y=[0, 1], num_classes=1)


def test_shipped_data_matches_shared_copy():
    shared = REPO.parent / "shared" / "data" / "data.txt"
    if not shared.exists():
        pytest.skip("no shared/ checkout beside the repo")
    assert default_logistic_path().read_bytes() == shared.read_bytes()


@pytest.mark.slow
def test_default_data_loads_from_any_working_directory(tmp_path):
    code = "from lit_basics.data import LogisticDataModule; print(LogisticDataModule().num_samples)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "100"


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def test_full_batch_in_file_order_by_default():
    dm = LogisticDataModule()
    [(x, y)] = batches(dm.train_dataloader())
    assert torch.equal(x, dm.x)
    assert torch.equal(y, dm.y)
    [batch] = list(dm.train_dataloader())
    assert isinstance(batch, FullBatch)
    assert dm.full_batch


def test_only_the_whole_data_in_a_fixed_order_is_a_full_batch():
    assert not any(isinstance(b, FullBatch) for b in LogisticDataModule(batch_size=30).train_dataloader())
    assert not any(isinstance(b, FullBatch) for b in LogisticDataModule(shuffle=True).train_dataloader())
    assert all(isinstance(b, FullBatch) for b in LogisticDataModule(batch_size=500).train_dataloader())


def test_mini_batches_cover_the_data_in_order():
    dm = LogisticDataModule(batch_size=30)
    got = batches(dm.train_dataloader())
    assert [len(x) for x, _ in got] == [30, 30, 30, 10]
    assert torch.equal(torch.cat([x for x, _ in got]), dm.x)


def test_passes_per_epoch_repeat_the_data():
    dm = LinearDataModule(passes_per_epoch=4, batch_size=10)
    loader = dm.train_dataloader()
    assert len(loader) == 8
    got = batches(loader)
    assert torch.equal(torch.cat([x for x, _ in got]), dm.x.repeat(4, 1))


def test_shuffle_is_seeded_and_differs_per_pass():
    def orders(seed):
        loader = LogisticDataModule(batch_size=100, shuffle=True, seed=seed, passes_per_epoch=2).train_dataloader()
        first_epoch = [x.clone() for x, _ in loader]
        second_epoch = [x.clone() for x, _ in loader]
        return first_epoch + second_epoch

    first, again = orders(5), orders(5)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])  # two passes, two orders
    assert not torch.equal(first[0], first[2])  # and new ones in the next epoch
    # A permutation of the rows: nothing lost, nothing repeated.
    dm = LogisticDataModule()
    assert torch.equal(first[0].sort(0).values, dm.x.sort(0).values)


def test_batches_follow_the_number_of_updates():
    """Update s trains on global batch s, wherever an epoch starts: resumes see the same data."""
    done = {"updates": 0}
    loader = ResidentBatches(
        *LogisticDataModule().training_rows(),
        batch_size=25,
        shuffle=True,
        seed=1,
        passes=2,
        progress=lambda: done["updates"],
    )
    straight = []
    for _ in range(3):
        straight += [x.clone() for x, _ in loader]
        done["updates"] += len(loader)
    done["updates"] = 9  # e.g. an epoch restarted one update after a boundary
    resumed = [x.clone() for x, _ in loader]
    assert len(resumed) == len(loader) == 8
    assert all(torch.equal(a, b) for a, b in zip(resumed, straight[9:17], strict=True))


def test_val_split_is_seeded_disjoint_and_in_file_order():
    dm = LogisticDataModule(val_fraction=0.25, seed=3)
    assert dm._val_index.numel() == 25
    assert dm._train_index.numel() == 75
    union = torch.cat([dm._val_index, dm._train_index]).sort().values
    assert torch.equal(union, torch.arange(100))
    assert torch.equal(dm._val_index, dm._val_index.sort().values)
    assert torch.equal(LogisticDataModule(val_fraction=0.25, seed=3)._val_index, dm._val_index)
    [(vx, _)] = batches(dm.val_dataloader())
    assert torch.equal(vx, dm.x[dm._val_index])


def test_predict_loader_is_every_row_in_order():
    dm = LinearDataModule(val_fraction=0.2, batch_size=4)
    assert torch.equal(torch.cat([x for x, _ in batches(dm.predict_dataloader())]), dm.x)


def test_shards_are_disjoint_and_cover():
    x = torch.arange(15.0).unsqueeze(1)
    shards = [ResidentBatches(x, x, rank=r, world_size=3).x.flatten().tolist() for r in range(3)]
    assert sorted(value for shard in shards for value in shard) == list(range(15))
    assert all(set(a).isdisjoint(b) for i, a in enumerate(shards) for b in shards[i + 1 :])


def test_array_data_module_takes_arrays_tensors_and_csv(tmp_path):
    rows = np.array([[1.0, 2.0, 5.0], [3.0, 7.0, 11.0], [5.0, 6.0, 17.0]])  # x1 no affine map of x0
    from_numpy = ArrayDataModule(x=rows[:, :2], y=rows[:, 2])
    from_torch = ArrayDataModule(x=torch.from_numpy(rows[:, :2]), y=torch.from_numpy(rows[:, 2:]))
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    from_csv = ArrayDataModule(path=str(path))
    for dm in (from_numpy, from_torch, from_csv):
        assert dm.num_features == 2
        assert torch.equal(dm.x, torch.tensor(rows[:, :2], dtype=torch.float32))
        assert torch.equal(dm.y, torch.tensor(rows[:, 2:], dtype=torch.float32))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"passes_per_epoch": 0}, "passes_per_epoch"),
    ],
)
def test_bad_options_raise_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        LinearDataModule(**kwargs)


def test_array_data_module_refuses_bad_arrays():
    with pytest.raises(ValueError, match=r"^x has 3 rows but y has 2"):
        ArrayDataModule(x=[1.0, 2.0, 3.0], y=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"^x has a non-finite value"):
        ArrayDataModule(x=[1.0, float("nan")], y=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"^y has a non-finite value"):
        ArrayDataModule(x=[1.0, 2.0], y=[1.0, float("inf")])
    with pytest.raises(ValueError, match=r"^path or x and y must be given"):
        ArrayDataModule(x=[1.0])


# --- bad data files: one test per case, each naming the file (and line) -------------------


def write(tmp_path: Path, text: str, name: str = "bad.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}: no such file$"):
        LogisticDataModule(path=str(path))


def test_wrong_number_of_fields_names_file_and_line(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6\n")
    with pytest.raises(
        DataFileError, match=rf"^{re.escape(str(path))}:3: expected 3 fields separated by ',', found 2$"
    ):
        LogisticDataModule(path=str(path))


def test_non_number_names_file_and_line(tmp_path):
    path = write(tmp_path, "1,2,0\n3,four,1\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:2: column 2 is not a number: 'four'$"):
        LogisticDataModule(path=str(path))


@pytest.mark.parametrize(("token", "problem"), [("inf", "is not finite: inf"), ("-Infinity", "is not finite: -inf")])
def test_non_finite_names_file_and_line(tmp_path, token, problem):
    path = write(tmp_path, f"1,2,0\n\n3,{token},1\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: column 2 {problem}$"):
        LogisticDataModule(path=str(path))


def test_nan_is_a_missing_value_in_the_notes_data(tmp_path):
    path = write(tmp_path, "1,2,0\n\n3,nan,1\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: column 2: a missing value$"):
        LogisticDataModule(path=str(path))


def test_label_other_than_zero_one_names_file_and_line(tmp_path):
    path = write(tmp_path, "1,2,0\n\n3,4,1\n5,6,2\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:4: label must be 0 or 1, got 2$"):
        LogisticDataModule(path=str(path))


def test_empty_file_is_named(tmp_path):
    path = write(tmp_path, "\n\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}: empty file, no data rows$"):
        LogisticDataModule(path=str(path))


def test_binary_file_is_named(tmp_path):
    path = tmp_path / "bad.bin"
    path.write_bytes(b"1,2,0\n\xff\xfe,1,0\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:2: not UTF-8 text$"):
        ArrayDataModule(path=str(path))


def test_valid_file_with_crlf_and_trailing_blank_lines(tmp_path):
    path = write(tmp_path, "10,20,0\r\n30,40,1\r\n20,80,1\r\n\r\n")
    dm = LogisticDataModule(path=str(path))
    expected = [[10 / 30, 20 / 80], [1.0, 40 / 80], [20 / 30, 1.0]]
    assert torch.equal(dm.x, torch.tensor(expected, dtype=torch.float32))


def test_cwd_independent_default_path():
    assert default_logistic_path().is_file()
    assert os.path.isabs(default_logistic_path())


@pytest.mark.slow
def test_installed_wheel_carries_data_txt(tmp_path):
    """Built as a wheel and installed elsewhere, the default data still loads (from the package)."""
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheel_dir, REPO], check=True)
    [wheel] = wheel_dir.glob("lit_basics-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    code = (
        "from lit_basics.data import IrisDataModule, LogisticDataModule, default_logistic_path;"
        "print(default_logistic_path()); print(LogisticDataModule().num_samples + IrisDataModule().num_samples)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    path, rows = out.stdout.split()
    assert Path(path) == target / "lit_basics" / "_data" / "data.txt"
    assert rows == "250"
