"""Real tables end to end: a public mixed table (penguins: text columns, missing values, class
names), categorical features, missing values, class names; against scikit-learn's pipeline
(``ColumnTransformer`` of ``StandardScaler`` and ``OneHotEncoder(drop="first")``, then
``LogisticRegression``)."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from palmerpenguins import load_penguins
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lit_basics.cli import cli_main
from lit_basics.data import ArrayDataModule, DataFileError
from lit_basics.data.base import AliasedInputsWarning
from lit_basics.errors import ArgumentError
from lit_basics.models import LogisticRegression, SoftmaxRegression
from tests.helpers import tiny_trainer

pytestmark = pytest.mark.usefixtures("plain_argv")

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]


def penguins(tmp_path: Path, held_back: int = 60) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    """The penguins table as it ships (NA for missing), shuffled; its last rows held back."""
    frame = load_penguins().sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, new = frame.iloc[:-held_back], frame.iloc[-held_back:]
    train_path, new_path = tmp_path / "penguins.csv", tmp_path / "new.csv"
    train.to_csv(train_path, index=False, na_rep="NA")
    return train_path, new_path, train, new


def test_the_penguins_table_as_it_ships(tmp_path):
    path, _, train, _ = penguins(tmp_path)
    incomplete = int(train.isna().any(axis=1).sum())
    first = int(np.flatnonzero(train.isna().any(axis=1))[0])
    column = train.columns[train.iloc[first].isna().to_numpy()][0]
    with pytest.raises(
        DataFileError,
        match=rf":{first + 2}: column \d \('{column}'\): a missing value; {incomplete} of 284 rows hold one",
    ):
        ArrayDataModule(path=str(path), target="species")
    dm = ArrayDataModule(path=str(path), target="species", missing="drop", scale="standardize")
    assert dm.dropped_rows == incomplete > 0
    assert dm.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert dm.num_classes == 3
    assert dm.feature_names == [
        "island=Dream",
        "island=Torgersen",
        *NUMERIC[:4],
        "sex=male",
        "year",
    ]
    assert dm.x.dtype == torch.float32
    assert dm.x.is_contiguous()
    assert dm._raw_x is None
    assert f"dropped {incomplete} of 284 rows with a missing value" in dm.describe()
    assert "one-hot: island (3 levels, reference 'Biscoe'), sex (2 levels, reference 'female')" in dm.describe()
    one_hot = dm.x[:, [0, 1, 6]]
    assert set(one_hot.unique().tolist()) == {0.0, 1.0}  # one-hot inputs are not scaled
    kept = train.dropna(subset=[c for c in train.columns if c != "species"])
    np.testing.assert_allclose(
        dm.x[:, 2].numpy(), StandardScaler().fit_transform(kept[["bill_length_mm"]]).ravel(), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(("target", "family"), [("sex", "logistic"), ("species", "softmax")])
def test_the_optimum_and_probabilities_are_scikit_learns_pipeline(tmp_path, target, family):
    path, new_path, train, new = penguins(tmp_path)
    features = [c for c in train.columns if c != target]
    new = new.dropna()
    new[features].to_csv(new_path, index=False)
    dm = ArrayDataModule(path=str(path), target=target, missing="drop", scale="standardize", predict_path=str(new_path))
    l2 = 0.01
    torch.manual_seed(2017)
    model = (
        LogisticRegression(in_features=dm.num_features, l2=l2)
        if family == "logistic"
        else SoftmaxRegression(in_features=dm.num_features, num_classes=3, l2=l2)
    )
    kept = train.dropna()
    numeric = [c for c in features if c in NUMERIC]
    categorical = [c for c in features if c not in NUMERIC]
    pipeline = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(drop="first"), categorical)]),
        SkLogisticRegression(C=1 / (l2 * len(kept)), tol=1e-12, max_iter=100_000),
    ).fit(kept[features], kept[target])
    assert tuple(pipeline.classes_) == dm.classes
    # The pipeline's inputs are its numbers then its one-hot columns: put our inputs in that order.
    names = dm.feature_names
    encoder = pipeline[0].named_transformers_["cat"]
    one_hot = [
        f"{c}={level}" for c, levels in zip(categorical, encoder.categories_, strict=True) for level in levels[1:]
    ]
    order = [names.index(c) for c in [*numeric, *one_hot]]
    reference = pipeline[-1]
    w_ref = np.zeros((dm.num_features, reference.coef_.shape[0]))
    w_ref[order] = reference.coef_.T
    b_ref = reference.intercept_
    x, y = dm.training_rows()
    objective = model.reference_objective(x, y)
    best = model.optimum(x, y)
    f_ref = objective.value(objective.join(torch.from_numpy(w_ref), torch.from_numpy(b_ref)))
    assert abs(best.loss - f_ref) <= 1e-6 * max(1.0, abs(f_ref))
    with torch.no_grad():
        model.w.copy_(best.w.reshape(model.w.shape))
        model.b.copy_(best.b.reshape(model.b.shape))
    probabilities = torch.cat([model.predict(batch[0])["probability"] for batch in dm.predict_dataloader()])
    expected = pipeline.predict_proba(new[features])
    expected = expected[:, 1:] if family == "logistic" else expected
    np.testing.assert_allclose(probabilities.numpy(), expected, atol=1e-5)


def test_predictions_name_classes_and_keep_rows_with_a_missing_value(tmp_path, monkeypatch, capsys):
    path, new_path, _, new = penguins(tmp_path)
    features = [c for c in new.columns if c != "species"]
    new[features].to_csv(new_path, index=False, na_rep="NA")
    incomplete = new[features].isna().any(axis=1).to_numpy()
    assert incomplete.any()
    monkeypatch.chdir(tmp_path)
    common = [
        "--model=SoftmaxRegression",
        "--model.l2=0.01",
        "--data=ArrayDataModule",
        f"--data.path={path}",
        "--data.target=species",
        "--data.missing=drop",
        "--data.scale=standardize",
        "--trainer.enable_progress_bar=false",
    ]
    cli_main(["fit", *common, "--trainer.max_steps=300", "--model.lr=1"])
    cli_main(["predict", *common, "--ckpt_path=last", f"--data.predict_path={new_path}"])
    written = sorted((tmp_path / "runs").rglob("predictions.csv"))[-1]
    with written.open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*features, "probability_Adelie", "probability_Chinstrap", "probability_Gentoo", "label"]
    assert len(rows) == 1 + len(new)
    right = 0
    for row, missing, truth in zip(rows[1:], incomplete, new["species"], strict=True):
        if missing:
            assert row[-4:] == ["", "", "", ""]  # aligned with the input, no prediction
        else:
            right += row[-1] == truth  # the species by name
            assert abs(sum(float(v) for v in row[-4:-1]) - 1) < 1e-6
    assert right >= 0.9 * int((~incomplete).sum())
    assert "NA" not in {f for row in rows[1:] for f in row}  # a missing input is written empty


def test_logistic_regression_on_a_text_target_of_two_classes(tmp_path):
    path, _, _, _ = penguins(tmp_path)
    dm = ArrayDataModule(path=str(path), target="sex", missing="drop", scale="standardize")
    assert dm.classes == ("female", "male")
    assert dm.y.dtype == torch.int64
    assert "LogisticRegression's positive class: 'male'" in dm.describe()
    torch.manual_seed(2017)
    model = LogisticRegression(in_features=dm.num_features, lr=1.0)
    tiny_trainer(200).fit(model, dm)
    x, y = dm.training_rows()
    accuracy = float(((model(x) >= 0).long() == y).float().mean())
    assert accuracy > 0.85


def test_levels_and_classes_travel_in_the_state_and_reencode(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("colour,size,label\nred,1,a\nblue,2,b\nred,3,a\ngreen,4,b\n")
    dm = ArrayDataModule(path=str(path), scale="standardize")
    assert dm.feature_names == ["colour=green", "colour=red", "size"]
    state = dm.state_dict()
    assert state["encoding"] == {
        "columns": [["colour", ["blue", "green", "red"]], ["size", None]],
        "classes": ["a", "b"],
        "aliasing": {"inputs": 3, "aliased": [], "relations": []},
    }
    other_path = tmp_path / "other.csv"
    other_path.write_text("colour,size,label\nblue,10,b\nred,30,a\ngreen,20,a\nblue,40,a\n")
    other = ArrayDataModule(path=str(other_path), scale="standardize")
    other.load_state_dict(state)  # the checkpoint's statistics, not the data's
    expected = (np.array([10.0, 30.0, 20.0, 40.0]) - 2.5) / np.std([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(other.x[:, 2].numpy(), expected, rtol=1e-6)
    assert other.x[:, :2].tolist() == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]


def test_numeric_codes_named_categorical_and_an_unseen_level(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,x,y\n1,0.5,1.0\n2,0.1,2.0\n3,0.3,1.5\n1,0.2,0.9\n")
    dm = ArrayDataModule(path=str(path), categorical=["code"])
    assert dm.feature_names == ["code=2", "code=3", "x"]
    new = tmp_path / "new.csv"
    new.write_text("code,x\n2,0.1\n7,0.4\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(new))}:3: column 1 \('code'\): level '7' was not seen"):
        ArrayDataModule(path=str(path), categorical=["code"], predict_path=str(new))
    with pytest.raises(ArgumentError, match="'nope' is not a column of") as info:
        ArrayDataModule(path=str(path), categorical=["nope"])
    assert info.value.argument == "categorical"
    with pytest.raises(ArgumentError, match="'y' is not a feature column") as info:
        ArrayDataModule(path=str(path), categorical=["y"])


def test_a_level_only_in_held_out_rows_is_named(tmp_path):
    path = tmp_path / "rare.csv"
    rows = ["k,x,y"] + [f"{'a' if i % 2 else 'b'},{i},{i % 3}" for i in range(20)] + ["rare,5,1"]
    path.write_text("\n".join(rows) + "\n")
    # A seed whose split holds the one 'rare' row (row 21 of 22) out.
    seed = next(s for s in range(100) if 20 in torch.randperm(21, generator=torch.Generator().manual_seed(s))[:6])
    with pytest.raises(
        DataFileError,
        match=rf"^{re.escape(str(path))}:22: column 1 \('k'\): level 'rare' was not seen in the training rows "
        r"\(it is only in held-out rows\); the levels: 'a', 'b'$",
    ):
        ArrayDataModule(path=str(path), val_fraction=0.3, seed=seed)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b,y\n1,NA,0\n2,NA,1\n", {"missing": "drop"}, r": column 2 \('b'\) has no values \(every row is missing\)$"),
        ("a,y\n1,x\n2,x\n", {}, r": the target column 2 \('y'\) holds one class, 'x': a classifier needs"),
        ("a,y\n1,u\n2,v\n", {"num_classes": 3}, "is 3, but the target column 2 \\('y'\\) names 2 classes"),
        ("a,y\n1,2\n?,3\n", {}, r":3: column 1 \('a'\): a missing value; 1 of 2 rows hold one \(set --data"),
    ],
)
def test_table_mistakes_name_the_file_or_the_argument(tmp_path, text, kwargs, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises((DataFileError, ArgumentError), match=message):
        ArrayDataModule(path=str(path), **kwargs)


def test_parquet_and_csv_give_the_same_tensors(tmp_path):
    path, _, train, _ = penguins(tmp_path)
    parquet = tmp_path / "penguins.parquet"
    train.to_parquet(parquet)
    a = ArrayDataModule(path=str(path), target="species", missing="drop", scale="standardize")
    b = ArrayDataModule(path=str(parquet), target="species", missing="drop", scale="standardize")
    assert a.feature_names == b.feature_names
    assert a.classes == b.classes
    assert torch.equal(a.x, b.x)
    assert torch.equal(a.y, b.y)


def test_a_column_with_a_level_per_training_row_is_named_an_identifier(tmp_path):
    """A name or an id one-hot encodes into an input per row: the data line says so (the fit still
    runs, as scikit-learn's and R's would)."""
    path = tmp_path / "ids.csv"
    path.write_text("name,a,y\n" + "".join(f"id{i},{i % 3},{i % 2}\n" for i in range(6)))
    # Its inputs span every row: the column after it is a combination of them (R gives it NA).
    with pytest.warns(AliasedInputsWarning, match=r": a = name=id1 \+ 2 name=id2 \+ name=id4 \+ 2 name=id5$"):
        line = ArrayDataModule(path=str(path)).describe()
    assert "name (6 levels, reference 'id0'; one per training row: an identifier? leave it out with features=)" in line
    assert "1 aliased input(s) left out" in line
    kept = tmp_path / "kept.csv"
    kept.write_text("name,a,y\n" + "".join(f"id{i % 3},{(i * 7) % 5},{i % 2}\n" for i in range(10)))
    assert "an identifier" not in ArrayDataModule(path=str(kept)).describe()


@pytest.mark.parametrize("shard", [False, True])
def test_an_encoded_table_larger_than_the_memory_left_is_refused_before_it_is_allocated(tmp_path, monkeypatch, shard):
    """rows x inputs floats beyond what this process can allocate is one error naming the size, the
    memory left and the column that one-hot encodes into most inputs, not a MemoryError or the OOM
    killer."""
    from lit_basics.data import memory

    path = tmp_path / "ids.csv"
    path.write_text("name,a,y\n" + "".join(f"id{i},{i % 3},{i % 2}\n" for i in range(40)))
    assert (memory.available_memory() or 0) > 0  # read from /proc/meminfo on Linux
    monkeypatch.setattr(memory, "available_memory", lambda: 5000)  # 40 x 40 float32 take 6400 bytes
    message = (
        rf"^{re.escape(str(path))}: the encoded features would take 6.2 KiB \(40 rows x 40 inputs, float32\) and "
        r"4.9 KiB of memory is available: 'name' alone is one-hot encoded into 39 inputs; leave it out with "
        r"--data.init_args.features$"
    )

    def held() -> ArrayDataModule:  # a whole read holds its rows at once, a shard in setup
        dm = ArrayDataModule(path=str(path), shard=shard)
        dm.trainer = tiny_trainer(1)
        dm.setup("fit")
        return dm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AliasedInputsWarning)  # a shard's streaming pass says it first
        with pytest.raises(DataFileError, match=message):
            held()
    monkeypatch.setattr(memory, "available_memory", lambda: 6400)
    with pytest.warns(AliasedInputsWarning, match=r": a \(a combination of more than 4 terms\)$"):
        dm = held()  # 41 columns (the intercept too) on 40 rows: the last, 'a', is left out
    assert dm.x.shape == (40, 39)
