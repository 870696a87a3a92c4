"""A user's own table end to end: header CSVs, column choice, scaling learned from the training
rows, predictions on new rows; against scikit-learn on real tables that ship with it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from lit_basics.data import ArrayDataModule, DataFileError, IrisDataModule, LogisticDataModule, read_table
from lit_basics.data.base import AliasedInputsWarning
from lit_basics.errors import ArgumentError
from lit_basics.models import LinearRegression, LogisticRegression, SoftmaxRegression
from tests.helpers import tiny_trainer

pytestmark = pytest.mark.usefixtures("plain_argv")


def write_csv(path, names, rows, *, bom=False, crlf=False):
    end = "\r\n" if crlf else "\n"
    text = ""
    if names is not None:
        text += ",".join(names) + end
    text += "".join(",".join(repr(float(v)) for v in row) + end for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def sklearn_table(loader):
    data = loader()
    names = [re.sub(r"\W+", "_", str(n)).strip("_") for n in data.feature_names]
    return names, np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.float64)


# --- reading tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(("bom", "crlf"), [(False, False), (True, False), (False, True), (True, True)])
def test_header_bom_and_crlf_are_read(tmp_path, bom, crlf):
    path = write_csv(
        tmp_path / "t.csv",
        ["age", "income", "bought"],
        [[31, 5.2e4, 1], [45, 3.1e4, 0], [52, 6.4e4, 1]],
        bom=bom,
        crlf=crlf,
    )
    dm = ArrayDataModule(path=str(path))
    assert dm.feature_names == ["age", "income"]
    assert dm.x.tolist() == [[31.0, 52000.0], [45.0, 31000.0], [52.0, 64000.0]]
    assert dm.y.squeeze(1).tolist() == [1.0, 0.0, 1.0]


def test_quoted_header_names(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('"mean radius","mean, texture",label\n1,2,0\n3,4,1\n')
    table = read_table(path)
    assert table.names == ("mean radius", "mean, texture", "label")
    assert table.lines.tolist() == [2, 3]
    assert table.header_line == 1


def test_target_and_features_by_name_and_index(tmp_path):
    rows = [[1, 10, 2, 3], [4, 20, 5, 6], [2, 30, 9, 4], [7, 40, 1, 8]]  # no column an affine map of others
    path = write_csv(tmp_path / "t.csv", ["a", "y", "b", "c"], rows)
    dm = ArrayDataModule(path=str(path), target="y")
    assert dm.feature_names == ["a", "b", "c"]
    assert dm.y.squeeze(1).tolist() == [10.0, 20.0, 30.0, 40.0]
    dm = ArrayDataModule(path=str(path), target=1, features=["c", 0])
    assert dm.feature_names == ["c", "a"]
    assert dm.x.tolist() == [[3.0, 1.0], [6.0, 4.0], [4.0, 2.0], [8.0, 7.0]]
    assert ArrayDataModule(path=str(path), target=-3).target_name == "y"


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"target": "nope"}, "target", "'nope' is not a column of"),
        ({"target": 4}, "target", "index 4 is out of range"),
        ({"features": ["a", "a"]}, "features", "is listed twice"),
        ({"features": ["a", "y"], "target": "y"}, "features", "'y' is the target column"),
        ({"features": []}, "features", "must be a non-empty list"),
    ],
)
def test_bad_column_choices_name_the_argument(tmp_path, kwargs, argument, message):
    path = write_csv(tmp_path / "t.csv", ["a", "y", "b"], [[1, 10, 2], [4, 20, 5]])
    with pytest.raises(ArgumentError, match=re.escape(message)) as info:
        ArrayDataModule(path=str(path), **kwargs)
    assert info.value.argument == argument


def test_a_name_without_a_header_and_columns_for_arrays(tmp_path):
    path = write_csv(tmp_path / "t.csv", None, [[1, 10, 2], [4, 20, 5]])
    with pytest.raises(
        ArgumentError,
        match=r"has no header line \(none detected: --data.init_args.header=true .*\): use a 0-based index",
    ):
        ArrayDataModule(path=str(path), target="y")
    with pytest.raises(ArgumentError, match=r"^target selects columns of path"):
        ArrayDataModule(x=[[1.0]], y=[1.0], target=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n", ":? a header line and no data rows$"),
        ("a,,c\n1,2,3\n", ":1: the header line gives column 2 no name$"),
        ("a,b,a\n1,2,3\n", ":1: the header line names columns 1 and 3 both 'a'$"),
        ("a,b\n1,2\n3,4,5\n", ":3: expected 2 fields separated by ',', found 3$"),
        ("a\n1\n", ": expected at least one feature and a target per line, found 1 column$"),
    ],
)
def test_malformed_tables_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}{message}"):
        ArrayDataModule(path=str(path))


def test_a_value_float32_cannot_hold_names_file_line_and_column(tmp_path):
    path = write_csv(tmp_path / "big.csv", ["a", "b", "y"], [[1, 2, 0], [3, 1e39, 1], [2, 7, 1]])
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: feature 2 \('b'\): 1e\+39 cannot be held"):
        ArrayDataModule(path=str(path))
    target = write_csv(tmp_path / "big_y.csv", ["a", "y"], [[1, 0], [3, -1e39]])
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(target))}:3: the target column: -1e\+39 cannot be held"):
        ArrayDataModule(path=str(target))
    with pytest.raises(ArgumentError, match=r"^x row 1, column 0: 1e\+39 cannot be held in float32"):
        ArrayDataModule(x=np.array([[1.0], [1e39]]), y=[0.0, 1.0])
    # Standardised, the same value is held: the tensors hold the scaled features.
    assert torch.isfinite(ArrayDataModule(path=str(path), scale="standardize").x).all()


# --- scaling -----------------------------------------------------------------------------------


def test_standardize_is_standard_scaler_on_the_training_rows_only(tmp_path):
    names, x, y = sklearn_table(load_breast_cancer)
    path = write_csv(tmp_path / "cancer.csv", [*names, "diagnosis"], np.column_stack([x, y]))
    dm = ArrayDataModule(path=str(path), scale="standardize", val_fraction=0.25)
    train = dm._train_index.numpy()
    scaler = StandardScaler().fit(x[train])
    np.testing.assert_allclose(dm.scaling.offset.numpy(), scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(dm.scaling.divisor.numpy(), scaler.scale_, rtol=1e-12)
    # Every row (held-out ones too) is scaled with the training statistics, rounded once.
    expected = torch.from_numpy(scaler.transform(x)).float()
    assert torch.equal(dm.x, expected)
    assert torch.equal(dm.transform(x[:5]), expected[:5])


def test_max_is_the_notes_division_by_the_training_maxima():
    table = LogisticDataModule()
    raw = np.loadtxt(table.path, delimiter=",")[:, :2]
    assert torch.equal(table.x, torch.from_numpy((raw / raw.max(axis=0)).astype(np.float32)))
    held_out = LogisticDataModule(val_fraction=0.3)
    train = held_out._train_index.numpy()
    assert held_out.scaling.divisor.tolist() == raw[train].max(axis=0).tolist()
    with pytest.raises(ArgumentError, match=r"^scale 'max' divides each feature by its maximum"):
        ArrayDataModule(x=[[-1.0], [-2.0]], y=[0.0, 1.0], scale="max")


def test_a_constant_column_is_only_centred_as_standard_scaler_and_left_out_as_r_does():
    x = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    # A constant column is the intercept's multiple: R's lm gives it NA; the model leaves it out.
    with pytest.warns(AliasedInputsWarning, match=r"1 input\(s\) not defined because of singularities.*: x1 = 5$"):
        dm = ArrayDataModule(x=x, y=[0.0, 1.0, 0.0], scale="standardize")
    scaler = StandardScaler().fit(x)
    np.testing.assert_allclose(dm.scaling.offset.numpy(), scaler.mean_)
    np.testing.assert_allclose(dm.scaling.divisor.numpy(), scaler.scale_)
    assert dm.num_features == 1
    assert dm.aliasing.aliased == (1,)
    np.testing.assert_allclose(dm.x.numpy(), scaler.transform(x)[:, :1], rtol=1e-6, atol=1e-7)


def test_scaling_is_saved_and_restored_from_a_checkpoint_state(tmp_path):
    dm = ArrayDataModule(x=[[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]], y=[0.0, 1.0, 1.0], scale="standardize")
    state = dm.state_dict()
    other = ArrayDataModule(x=[[100.0, 1.0], [300.0, 2.0], [0.0, 9.0]], y=[0.0, 1.0, 1.0], scale="standardize")
    other.load_state_dict(state)
    assert torch.equal(other.transform([[3.0, 30.0]]), dm.transform([[3.0, 30.0]]))
    np.testing.assert_allclose(
        other.x[0].numpy(), ((np.array([100.0, 1.0]) - [3.0, 20.0]) / dm.scaling.divisor.numpy())
    )


# --- predict on new rows -----------------------------------------------------------------------


def test_predict_rows_must_be_the_feature_columns(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["a", "b", "y"], [[1, 2, 0], [3, 4, 1], [5, 0, 1]])
    cases = {
        "missing 'b'": (["a"], [[1]]),
        "not features of the training data: 'y'": (["a", "b", "y"], [[1, 2, 0]]),
        "the columns are in another order; expected 'a', 'b'": (["b", "a"], [[1, 2]]),
    }
    for message, (names, rows) in cases.items():
        new = write_csv(tmp_path / "new.csv", names, rows)
        with pytest.raises(
            DataFileError, match=rf"^{re.escape(str(new))}:1: the header's columns: .*{re.escape(message)}"
        ):
            ArrayDataModule(path=str(train), predict_path=str(new))
    headless = write_csv(tmp_path / "headless.csv", None, [[1, 2, 0]])
    with pytest.raises(
        DataFileError, match="3 column\\(s\\), the model has 2 feature column\\(s\\) \\(the target too\\?"
    ):
        ArrayDataModule(path=str(train), predict_path=str(headless))
    with pytest.raises(ArgumentError, match=r"^predict_path is empty"):
        ArrayDataModule(path=str(train), predict_path="")


def test_predict_rows_are_scaled_with_the_training_statistics(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["a", "b", "y"], [[1, 20, 0], [3, 40, 1], [5, 30, 1]])
    new = write_csv(tmp_path / "new.csv", None, [[2, 25], [4, 35]])
    dm = ArrayDataModule(path=str(train), predict_path=str(new), scale="standardize")
    batches = list(dm.predict_dataloader())
    assert len(batches) == 1
    assert torch.equal(batches[0][0], dm.transform([[2.0, 25.0], [4.0, 35.0]]))
    names, columns, kept = dm.predict_inputs()
    assert (names, [c.to_pylist() for c in columns], kept) == (["a", "b"], [[2.0, 4.0], [25.0, 35.0]], None)


# --- against scikit-learn ----------------------------------------------------------------------


def split(x, y, held_out=40, seed=0):
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order[held_out:]], y[order[held_out:]], x[order[:held_out]], y[order[:held_out]]


def fit_to_optimum(model, dm, updates):
    """The manual twin's gradient descent (100 updates per Lightning step) for ``updates``."""
    trainer = tiny_trainer(updates)
    trainer.fit(model, dm)
    return model


@pytest.mark.parametrize("family", ["logistic", "softmax", "linear"])
def test_standardized_fit_and_predictions_match_scikit_learn(tmp_path, family):
    loader = {"logistic": load_breast_cancer, "softmax": load_wine, "linear": load_diabetes}[family]
    names, x, y = sklearn_table(loader)
    x_train, y_train, x_new, y_new = split(x, y)
    train = write_csv(tmp_path / "train.csv", [*names, "target"], np.column_stack([x_train, y_train]))
    new = write_csv(tmp_path / "new.csv", names, x_new)
    l2, n = 0.01, len(x_train)
    classes = 3 if family == "softmax" else None
    dm = ArrayDataModule(
        path=str(train), predict_path=str(new), scale="standardize", num_classes=classes, passes_per_epoch=100
    )
    torch.manual_seed(2017)
    common = {"in_features": len(names), "l2": l2, "optimization": "manual"}
    model = {
        "logistic": lambda: LogisticRegression(**common),
        "softmax": lambda: SoftmaxRegression(num_classes=3, **common),
        "linear": lambda: LinearRegression(**common),
    }[family]()
    scaled = StandardScaler().fit(x_train)
    z, z_new = scaled.transform(x_train), scaled.transform(x_new)
    if family == "linear":
        reference = Ridge(alpha=l2 * n / 2, tol=1e-12, solver="cholesky").fit(z, y_train)
        w_ref, b_ref = reference.coef_.reshape(-1, 1), np.atleast_1d(reference.intercept_)
    else:
        reference = SkLogisticRegression(C=1 / (l2 * n), tol=1e-12, max_iter=100_000).fit(z, y_train)
        w_ref, b_ref = reference.coef_.T, reference.intercept_
        if family == "softmax":  # scikit-learn centres the intercepts; the objective does not see a shift
            b_ref = b_ref - b_ref.mean()
    x_dm, y_dm = dm.training_rows()
    objective = model.reference_objective(x_dm, y_dm)
    best = model.optimum(x_dm, y_dm)
    theta_ref = objective.join(torch.from_numpy(w_ref), torch.from_numpy(b_ref))
    f_ref, f_best = objective.value(theta_ref), best.loss
    assert abs(f_best - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    # Gradient descent from the seed's start reaches the same parameters.
    from lit_basics.diagnostics import diagnose

    diagnosis = diagnose(model, x_dm, y_dm)
    model.lr = 1.0 / float(diagnosis.eigenvalues[-1])  # standardised: κ is 23 to 300 here
    updates = diagnosis_at(diagnosis, model.lr).updates_to_gap(1e-12 * max(1.0, abs(f_best)))
    assert updates is not None
    assert updates < 6000
    fit_to_optimum(model, dm, updates + 100)
    w, b = model.w.detach().double(), model.b.detach().double()
    if family == "softmax":
        b = b - b.mean()
    scale = max(1.0, float(np.abs(w_ref).max()))
    np.testing.assert_allclose(w.numpy(), w_ref, atol=1e-4 * scale)
    np.testing.assert_allclose(b.numpy(), b_ref, atol=1e-4 * max(1.0, float(np.abs(b_ref).max())))
    # Predictions on the held-back rows, read from a features-only file, as scikit-learn's.
    predictions = torch.cat(
        [model.predict(batch[0])["y_hat" if family == "linear" else "probability"] for batch in dm.predict_dataloader()]
    )
    if family == "linear":
        expected = reference.predict(z_new).reshape(-1, 1)
        np.testing.assert_allclose(predictions.numpy(), expected, rtol=1e-4, atol=1e-3)
    else:
        expected = reference.predict_proba(z_new)
        expected = expected[:, 1:] if family == "logistic" else expected
        np.testing.assert_allclose(predictions.numpy(), expected, atol=2e-4)
        assert len(y_new) == len(predictions)


def diagnosis_at(diagnosis, lr):
    import dataclasses

    return dataclasses.replace(diagnosis, lr=lr)


def test_iris_and_logistic_take_a_header_too(tmp_path):
    path = tmp_path / "iris.csv"
    original = IrisDataModule()
    rows = np.column_stack([original.x.double().numpy(), original.y.numpy()])
    write_csv(path, ["sl", "sw", "pl", "pw", "species"], rows)
    assert torch.equal(IrisDataModule(path=str(path)).x, original.x)
    scores = tmp_path / "scores.csv"
    scores.write_text("exam1,exam2,admitted\n" + Path(LogisticDataModule().path).read_text())
    assert torch.equal(LogisticDataModule(path=str(scores)).x, LogisticDataModule().x)


def test_predictions_csv_holds_the_input_then_the_predictions(tmp_path):
    from lit_basics.callbacks import PredictionsCSV

    train = write_csv(tmp_path / "train.csv", ["a", "b", "y"], [[1, 20, 0], [3, 40, 1], [5, 30, 1], [2, 10, 0]])
    new = tmp_path / "new.csv"
    new.write_text("a,b\n2,25\n4,35.5\n")
    dm = ArrayDataModule(path=str(train), predict_path=str(new), scale="standardize")
    torch.manual_seed(0)
    model = LogisticRegression(in_features=2)
    writer = PredictionsCSV(dirpath=str(tmp_path / "out"))
    trainer = tiny_trainer(1, callbacks=[writer])
    trainer.predict(model, dm, return_predictions=False)
    with open(tmp_path / "out" / "predictions.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["a", "b", "probability", "label"]
    assert [r[:2] for r in rows[1:]] == [["2", "25"], ["4", "35.5"]]  # as the input writes them
    expected = model.predict(dm.transform([[2.0, 25.0], [4.0, 35.5]]))["probability"].squeeze(1).tolist()
    assert [float(r[2]) for r in rows[1:]] == expected


# --- through the CLI ---------------------------------------------------------------------------


def cancer_files(tmp_path, held_out=30):
    names, x, y = sklearn_table(load_breast_cancer)
    x_train, y_train, x_new, _ = split(x, y, held_out=held_out)
    train = write_csv(tmp_path / "train.csv", [*names, "benign"], np.column_stack([x_train, y_train]), crlf=True)
    new = write_csv(tmp_path / "new.csv", names, x_new, bom=True)
    return names, train, new, x_new


def test_fit_then_predict_new_rows_through_the_cli(tmp_path, monkeypatch, capsys):
    from lit_basics.cli import cli_main

    monkeypatch.chdir(tmp_path)
    names, train, new, x_new = cancer_files(tmp_path)
    common = ["--model=LogisticRegression", "--model.l2=0.01", "--data=ArrayDataModule", f"--data.path={train}"]
    common += ["--data.scale=standardize", "--trainer.enable_progress_bar=false"]
    fit = cli_main(["fit", *common, "--trainer.max_steps=300"])
    out = capsys.readouterr().out
    assert "ArrayDataModule: 539 training rows x 30 features (standardized)" in out
    assert "Gradient descent: lr=1, stable below 2/λmax" in out
    assert "Scaling:" not in out  # standardised already
    assert Path(fit.trainer.log_dir) == Path("runs/logistic/version_0")
    cli = cli_main(["predict", *common, "--ckpt_path=last", f"--data.predict_path={new}"])
    out = capsys.readouterr().out
    written = Path(cli.trainer.log_dir) / "predictions.csv"
    assert f"Predictions ({len(x_new)} rows): {written}" in out
    with open(written) as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*names, "probability", "label"]
    assert np.array([[float(v) for v in r[:30]] for r in rows[1:]]).tolist() == x_new.tolist()
    # The fit's statistics (from the checkpoint) scale the new rows, the fit's weights predict.
    expected = fit.model.predict(fit.datamodule.transform(x_new))
    assert [float(r[30]) for r in rows[1:]] == expected["probability"].squeeze(1).tolist()
    assert [int(r[31]) for r in rows[1:]] == expected["label"].squeeze(1).tolist()


def test_a_checkpoint_is_refused_with_another_scaling(tmp_path, monkeypatch, capsys):
    from lit_basics.cli import cli_main

    monkeypatch.chdir(tmp_path)
    _, train, new, _ = cancer_files(tmp_path)
    common = ["--model=LogisticRegression", "--model.l2=0.01", "--data=ArrayDataModule", f"--data.path={train}"]
    common += ["--trainer.enable_progress_bar=false", "--trainer.max_steps=10"]
    cli_main(["fit", *common, "--data.scale=standardize"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli_main(["predict", *common, "--ckpt_path=last", f"--data.predict_path={new}"])
    assert info.value.code == 2
    last = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert last == (
        "error: data.init_args.scale: 'none', but runs/logistic/version_0/checkpoints/last.ckpt was trained on "
        "features scaled with 'standardize': set --data.init_args.scale=standardize (the checkpoint's statistics "
        "are then used)"
    )


def test_the_fit_start_says_what_standardizing_would_do(tmp_path, monkeypatch, capsys):
    from lit_basics.cli import cli_main

    monkeypatch.chdir(tmp_path)
    _, train, _, _ = cancer_files(tmp_path)
    args = ["fit", "--model=LogisticRegression", "--model.l2=0.01", "--model.lr=1e-5", "--data=ArrayDataModule"]
    cli = cli_main([*args, f"--data.path={train}", "--trainer.enable_progress_bar=false", "--trainer.max_steps=5"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Scaling:"))
    advice = re.match(
        r"Scaling: the features are not standardized \(scale=none\): κ = (\S+), 2/λmax = \S+: (\d+) update\(s\) to a "
        r"loss gap <= 0.001 at lr=1e-05. Standardized \(--data.init_args.scale=standardize\): κ = (\S+), "
        r"2/λmax = (\S+): (\d+) update\(s\) at lr = 1/λmax = (\S+)$",
        line,
    )
    assert advice is not None, line
    kappa_before, kappa_after = float(advice.group(1)), float(advice.group(3))
    assert kappa_before > 1e8
    assert kappa_after < 100
    # The standardised problem, diagnosed independently: scikit-learn's scaler, the same start.
    from lit_basics.diagnostics import diagnose

    torch.manual_seed(2017)
    start = LogisticRegression(in_features=30, l2=0.01)
    x, y = cli.datamodule.training_rows()
    z = torch.from_numpy(StandardScaler().fit_transform(x.double().numpy())).float()
    after = diagnose(start, z, y)
    assert float(advice.group(3)) == pytest.approx(after.condition_number, rel=1e-2)
    assert float(advice.group(4)) == pytest.approx(after.max_stable_lr, rel=1e-2)
    events = _scalars(Path(cli.trainer.log_dir))
    assert events["hp/standardized_condition_number"] == pytest.approx(after.condition_number, rel=1e-2)


def _scalars(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]}


@pytest.mark.slow
def test_a_run_without_a_config_is_watched_and_quiet(tmp_path):
    """`lit-basics fit --model X --data Y`, as a user types it: per-update logs, figures, hparams,
    runs/<model>/, the seed said in one line, and no upstream notice a user cannot act on."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "lit_basics", "fit", "--model", "LogisticRegression", "--data", "LogisticDataModule"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out.stdout + out.stderr).replace("\r", "\n")
    lines = [x for x in text.splitlines() if x.strip() and not x.lstrip().startswith(("Training", "Epoch"))]
    assert lines[0] == "Seed: 2017 (the notes' torch.manual_seed(2017); --seed_everything=N to change)"
    assert lines[1].startswith("LogisticDataModule: 100 training rows x 2 features (divided by their maxima)")
    assert lines[2].startswith("Gradient descent: lr=1, stable below 2/λmax = 18.1")
    assert lines[3] == "Trained 1000 update(s) in 10 Lightning epoch(s)."
    # The coefficient table (intercept and the two scores), the fit's statistics as R's glm
    # summary prints them, how many digits are right, then where the logs are; on stderr, one line
    # saying the notes' 1000 updates stop short of the optimum and what would help.
    assert lines[4] == "Coefficients (runs/logistic/version_0/coefficients.csv):"
    assert lines[5].split() == ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    assert [line.split()[0] for line in lines[6:9]] == ["(intercept)", "x0", "x1"]
    assert lines[9:] == [
        "Fit (runs/logistic/version_0/glance.csv):",
        "    Null deviance: 134.6  on 99  degrees of freedom",
        "Residual deviance: 51.49  on 97  degrees of freedom",
        "AIC: 57.49; BIC: 65.3; log-likelihood: -25.74",
        "McFadden's pseudo-R-squared: 0.6175; likelihood-ratio test: 83.12 on 2 DF,  p-value: < 2.2e-16",
        "Estimates: within 6 standard errors of the exact optimum; least accurate: x1, 0.3 correct digits",
        "Logs: runs/logistic/version_0  (view: lit-basics tensorboard, or tensorboard --logdir runs)",
        "warning: x1 is right to 0.3 significant digits only (R's summary prints 4): gradient descent has not "
        "reached the exact optimum (its value is in coefficients.csv's optimum column), so the standard errors "
        "and the fit's statistics are not yet the optimum's; what would help: more updates "
        "(--trainer.max_steps), standardized features (--data.init_args.scale=standardize), lr: auto with "
        "momentum: auto (--model.init_args.lr=auto --model.init_args.momentum=auto)",
    ]
    events = _scalars(tmp_path / "runs" / "logistic" / "version_0")
    assert {"train/loss", "train/acc", "train/loss_gap", "params/w0", "hp/final_loss", "hp/condition_number"} <= set(
        events
    )
    assert "hp_metric" not in events
    assert (tmp_path / "runs" / "logistic" / "version_0" / "figures" / "step_001000.png").is_file()
    assert (tmp_path / "runs" / "logistic" / "version_0" / "checkpoints" / "last.ckpt").exists()


def test_predict_scales_with_the_checkpoints_statistics_not_the_datas(tmp_path, monkeypatch, capsys):
    """Lightning restores the data module's state from the checkpoint: predicting with other
    training rows configured still scales the new rows as the fit did."""
    from lit_basics.cli import cli_main

    monkeypatch.chdir(tmp_path)
    names, train, new, x_new = cancer_files(tmp_path)
    shifted = write_csv(
        tmp_path / "other.csv", [*names, "benign"], np.loadtxt(train, delimiter=",", skiprows=1) * [*[3.0] * 30, 1.0]
    )
    common = ["--model=LogisticRegression", "--model.l2=0.01", "--data=ArrayDataModule", "--data.scale=standardize"]
    common += ["--trainer.enable_progress_bar=false"]
    fit = cli_main(["fit", *common, f"--data.path={train}", "--trainer.max_steps=50"])
    cli = cli_main(["predict", *common, f"--data.path={shifted}", "--ckpt_path=last", f"--data.predict_path={new}"])
    assert cli.datamodule.scaling.offset.tolist() == fit.datamodule.scaling.offset.tolist()
    with open(Path(cli.trainer.log_dir) / "predictions.csv") as f:
        probabilities = [float(row["probability"]) for row in csv.DictReader(f)]
    assert probabilities == fit.model.predict(fit.datamodule.transform(x_new))["probability"].squeeze(1).tolist()
