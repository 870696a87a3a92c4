"""Aliased inputs: found on the training rows, named with their relations, left out of the model as
R's lm and glm leave them out (NA), kept as rows of the coefficient table; the rest of the answer is
statsmodels' on the full-rank columns. Separation keeps a message of its own."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import torch

from lit_basics.cli import cli_main
from lit_basics.coefficients import NotConvergedWarning
from lit_basics.data import ArrayDataModule
from lit_basics.data.aliasing import Aliasing, design_r, find_aliasing
from lit_basics.data.base import AliasedInputsWarning
from lit_basics.errors import LitBasicsWarning
from lit_basics.models import LinearRegression, LogisticRegression
from lit_basics.reference import SEPARATED, NoOptimumError
from tests.helpers import tiny_trainer

pytestmark = pytest.mark.usefixtures("plain_argv")


def at_optimum(model, dm):
    dm.use_dtype(torch.float64)
    model.double()
    x, y = dm.training_rows()
    best = model.optimum(x, y)
    with torch.no_grad():
        model.w.copy_(best.w)
        model.b.copy_(best.b)
    return model


def longley_with_aliases(path: Path) -> pd.DataFrame:
    """NIST's Longley with three aliased columns (relations exact in the file's decimals)."""
    frame = sm.datasets.longley.load_pandas().data
    frame.insert(4, "GNP_LESS_UNEMP", frame["GNP"] - frame["UNEMP"])  # after both: aliased
    frame.insert(1, "ONE", 1.0)  # constant: the intercept's multiple
    frame["ARMED2"] = 2 * frame["ARMED"] + 3
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("scale", ["none", "standardize", "max"])
def test_aliased_inputs_are_named_left_out_and_the_rest_is_ols(tmp_path, scale):
    frame = longley_with_aliases(tmp_path / "longley.csv")
    with pytest.warns(AliasedInputsWarning) as caught:
        dm = ArrayDataModule(path=str(tmp_path / "longley.csv"), target="TOTEMP", scale=scale)
    message = str(caught[0].message)
    assert message.startswith("3 input(s) not defined because of singularities")
    assert message.endswith(": ONE = 1; GNP_LESS_UNEMP = GNP - UNEMP; ARMED2 = 3 + 2 ARMED")
    assert dm.num_features == 6
    assert dm.feature_names == ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    assert dm.aliasing.aliased == (0, 4, 8)
    table = at_optimum(LinearRegression(in_features=6), dm).coefficients(dm)
    assert table.column("term") == ["(intercept)", *frame.columns.drop("TOTEMP")]
    assert table.column("note") == ["", "aliased", "", "", "", "aliased", "", "", "", "aliased"]
    full_rank = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    result = sm.OLS(frame["TOTEMP"], sm.add_constant(frame[full_rank])).fit()
    rows = [i for i, note in enumerate(table.column("note")) if not note]
    for column, theirs in (("estimate", result.params), ("std_error", result.bse), ("p_value", result.pvalues)):
        ours = np.asarray(table.column(column))[rows]
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-6, err_msg=column)
    for row in (1, 5, 9):
        assert all(np.isnan(table.rows[row][k]) for k in range(1, 8))
    glance = at_optimum(LinearRegression(in_features=6), dm).glance(dm)
    assert glance["df_residual"] == 16 - 7
    assert glance["r_squared"] == pytest.approx(result.rsquared, rel=1e-9)


def test_relations_are_found_in_the_columns_order_and_units():
    rng = np.random.default_rng(0)
    n = 400
    price = np.round(rng.uniform(1.5, 2.5, n), 2)
    disc = np.round(rng.uniform(0, 0.5, n), 2)
    store_id = rng.choice([1, 2, 3, 4, 7], n)
    store7 = (store_id == 7).astype(float)
    x = np.column_stack([price, disc, price - disc, store_id, store7, np.where(store_id == 7, 0, store_id)])
    names = ["PriceMM", "DiscMM", "SalePriceMM", "StoreID", "Store7=Yes", "STORE"]
    for dtype, tolerance in ((torch.float64, 1e-7), (torch.float32, 1e-5)):
        found = find_aliasing(design_r(torch.from_numpy(x).to(dtype)), tolerance=tolerance, names=names)
        assert found == Aliasing(6, (2, 5), ("SalePriceMM = PriceMM - DiscMM", "STORE = StoreID - 7 Store7=Yes"))
    # A column merely correlated with the others (R² = 1 - 1e-6) is kept.
    near = x.copy()
    near[:, 2] += rng.normal(scale=1e-3, size=n)
    assert find_aliasing(design_r(torch.from_numpy(near)), tolerance=1e-7, names=names).aliased == (5,)
    # More than four terms: named, its relation left out.
    wide = np.column_stack([rng.normal(size=(n, 5)), rng.normal(size=(n, 5)).sum(axis=1)])
    wide[:, 5] = wide[:, :5].sum(axis=1)
    found = find_aliasing(design_r(torch.from_numpy(wide)), tolerance=1e-7)
    assert found.aliased == (5,)
    assert found.relations == (None,)
    assert found.summary([f"x{i}" for i in range(6)]).endswith("x5 (a combination of more than 4 terms)")


def oj_like(path: Path) -> pd.DataFrame:
    """The penguins' sex against measurements with an aliased sum and an aliased island code."""
    from palmerpenguins import load_penguins

    frame = load_penguins()[["species", "island", "bill_length_mm", "bill_depth_mm", "body_mass_g", "sex"]].dropna()
    frame = frame.assign(bill_total_mm=frame.bill_length_mm + frame.bill_depth_mm)
    frame = frame.assign(island_code=frame.island.map({"Biscoe": 0, "Dream": 1, "Torgersen": 2}))
    frame = frame[["species", "island", "bill_length_mm", "bill_depth_mm", "bill_total_mm", "island_code",
                   "body_mass_g", "sex"]]  # fmt: skip
    frame.to_csv(path, index=False)
    return frame


def test_momentum_auto_fits_a_logistic_regression_with_aliased_columns_through_the_cli(tmp_path, monkeypatch, capsys):
    """Collinear columns used to stop ``momentum: auto`` at once ("no finite optimum"); left out, the
    fit reaches statsmodels' Logit on the full-rank columns, and every output says what was left out."""
    monkeypatch.chdir(tmp_path)
    frame = oj_like(tmp_path / "oj.csv")
    args = [
        "fit",
        "--model=LogisticRegression",
        "--model.lr=auto",
        "--model.momentum=auto",
        "--data=ArrayDataModule",
        "--data.path=oj.csv",
        "--data.target=sex",
        "--data.scale=standardize",
        "--trainer.precision=64-true",
        "--trainer.max_steps=3000",
        "--trainer.enable_progress_bar=false",
    ]
    with warnings.catch_warnings():  # printed as the CLI prints them
        warnings.filterwarnings("always", category=LitBasicsWarning)
        cli = cli_main(args)
    out, err = capsys.readouterr()
    warned = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warned == [
        "warning: 2 input(s) not defined because of singularities, each a linear combination of the intercept and "
        "the inputs before it: left out of the model, as R's lm and glm leave them out: bill_total_mm = "
        "bill_length_mm + bill_depth_mm; island_code = island=Dream + 2 island=Torgersen"
    ]
    assert "2 aliased input(s) left out" in out
    accuracy = r"^Estimates: within \S+ standard errors of the exact optimum; least accurate: .*, \d+\.\d correct"
    assert re.search(accuracy, out, re.M)
    table = pd.read_csv(Path(cli.trainer.log_dir) / "coefficients.csv", keep_default_na=False)
    assert table.loc[table.note == "aliased", "term"].tolist() == ["bill_total_mm", "island_code"]
    kept = table[table.note == ""]
    exog = pd.get_dummies(
        frame[["species", "island", "bill_length_mm", "bill_depth_mm", "body_mass_g"]],
        columns=["species", "island"],
        drop_first=True,
        dtype=float,
    )
    exog = sm.add_constant(exog[["species_Chinstrap", "species_Gentoo", "island_Dream", "island_Torgersen",
                                 "bill_length_mm", "bill_depth_mm", "body_mass_g"]])  # fmt: skip
    result = sm.Logit((frame.sex == "male").astype(float), exog).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(kept.optimum.astype(float), np.asarray(result.params), rtol=1e-6)
    np.testing.assert_allclose(kept.estimate.astype(float), np.asarray(result.params), rtol=1e-4)
    glance = pd.read_csv(Path(cli.trainer.log_dir) / "glance.csv")
    assert glance.loc[0, "log_lik"] == pytest.approx(result.llf, rel=1e-6)
    assert glance.loc[0, "df_residual"] == len(frame) - 8


def test_new_rows_carry_the_aliased_columns_and_a_checkpoint_keeps_what_was_left_out(tmp_path):
    frame = oj_like(tmp_path / "oj.csv")
    new = tmp_path / "new.csv"
    frame.drop(columns="sex").head(5).to_csv(new, index=False)
    with pytest.warns(AliasedInputsWarning):
        dm = ArrayDataModule(path=str(tmp_path / "oj.csv"), target="sex", scale="standardize", predict_path=str(new))
    model = LogisticRegression(in_features=dm.num_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        tiny_trainer(20).fit(model, dm)
    predicted = tiny_trainer(1).predict(model, dm)
    assert predicted is not None
    assert predicted[0]["probability"].shape == (5, 1)
    state = dm.state_dict()
    assert state["encoding"]["aliasing"] == {
        "inputs": 9,
        "aliased": [6, 7],
        "relations": [
            "bill_total_mm = bill_length_mm + bill_depth_mm",
            "island_code = island=Dream + 2 island=Torgersen",
        ],
    }
    assert state["feature_names"] == [
        "species=Chinstrap",
        "species=Gentoo",
        "island=Dream",
        "island=Torgersen",
        "bill_length_mm",
        "bill_depth_mm",
        "body_mass_g",
    ]
    # Data on which nothing is aliased, restored from the checkpoint: encoded as the fit was.
    other = tmp_path / "other.csv"
    frame.assign(bill_total_mm=frame.bill_total_mm + np.arange(len(frame)) % 3).to_csv(other, index=False)
    with pytest.warns(AliasedInputsWarning, match=r": island_code = island=Dream \+ 2 island=Torgersen$"):
        restored = ArrayDataModule(path=str(other), target="sex", scale="standardize")
    assert restored.num_features == 8
    restored.load_state_dict(state)
    assert restored.num_features == 7
    assert restored.aliasing.aliased == (6, 7)


def test_arrays_leave_out_aliased_columns_in_transform_and_raw_features():
    x = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [0.0, 5.0, 5.0], [3.0, 3.0, 6.0], [4.0, 0.0, 4.0]])
    with pytest.warns(AliasedInputsWarning, match=r": x2 = x0 \+ x1$"):
        dm = ArrayDataModule(x=x, y=[0.0, 1.0, 2.0, 1.0, 0.0], scale="standardize")
    assert dm.num_features == 2
    assert dm.transform([[1.0, 1.0, 2.0]]).shape == (1, 2)
    np.testing.assert_allclose(dm.raw_training_features().numpy(), x[:, :2], rtol=1e-6)
    with pytest.raises(ValueError, match=r"^x has 2 columns, the data has 3 features"):
        dm.transform([[1.0, 1.0]])


def test_every_input_aliased_is_one_error(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("a,b,y\n1,2,0\n1,2,1\n1,2,1\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: the features hold no information on the"):
        ArrayDataModule(path=str(path))
    with pytest.raises(ValueError, match=r"^x the features hold no information on the training rows"):
        ArrayDataModule(x=[[1.0], [1.0]], y=[0.0, 1.0])


@pytest.mark.parametrize("shard", [False, True])
def test_the_streaming_pass_finds_what_the_whole_read_finds(tmp_path, shard):
    oj_like(tmp_path / "oj.csv")
    with pytest.warns(AliasedInputsWarning, match=r": bill_total_mm = bill_length_mm \+ bill_depth_mm;"):
        dm = ArrayDataModule(path=str(tmp_path / "oj.csv"), target="sex", shard=shard, val_fraction=0.2)
    assert dm.aliasing.aliased == (6, 7)
    assert dm.num_features == 7


def test_separation_has_a_message_of_its_own_and_collinearity_another():
    x = torch.tensor([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0], [3.0, 1.5]])
    y = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    with pytest.raises(NoOptimumError) as separated:
        LogisticRegression(in_features=2).optimum(x, y)
    assert str(separated.value).startswith(SEPARATED)
    assert "fitted probabilities numerically 0 or 1 occurred" in SEPARATED
    assert "--model.init_args.l2=0.01" in SEPARATED
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(40, 2, generator=rng, dtype=torch.float64)
    collinear = torch.cat([z, z[:, :1] + z[:, 1:]], dim=1)
    labels = (torch.rand(40, 1, generator=rng, dtype=torch.float64) < 0.5).double()
    with pytest.raises(NoOptimumError, match=r"^no unique optimum: the inputs are collinear"):
        LogisticRegression(in_features=3).double().optimum(collinear, labels)
