"""The coefficient table against statsmodels (OLS, Logit, MNLogit) and NIST's certified standard
errors, in the columns' units whatever the scaling; estimates only with a penalty; the fit's file."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.coefficients import COLUMNS, EXTRA_COLUMNS, NotConvergedWarning
from lit_basics.data import ArrayDataModule
from lit_basics.errors import LitBasicsWarning
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from tests.helpers import tiny_trainer
from tests.nist_strd import PROBLEMS

pytestmark = pytest.mark.usefixtures("plain_argv")
RTOL = 1e-6


def at_optimum(model, dm):
    """The model at the exact optimum of its float64 training rows."""
    dm.use_dtype(torch.float64)
    model.double()
    x, y = dm.training_rows()
    model.learn_input_map(x)
    best = model.optimum(x, y)
    with torch.no_grad():
        model.w.copy_(best.w)
        model.b.copy_(best.b)
    return model


def write(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def assert_matches(table, result, terms, rtol=RTOL):
    """Every column of ``table`` against a statsmodels result, term by term (its order: ``terms``)."""
    ours = {name: np.asarray(table.column(name), dtype=float) for name in COLUMNS[1:]}
    conf = np.asarray(result.conf_int())
    theirs = {
        "estimate": np.asarray(result.params),
        "std_error": np.asarray(result.bse),
        "statistic": np.asarray(result.tvalues),
        "p_value": np.asarray(result.pvalues),
        "conf_low": conf[:, 0],
        "conf_high": conf[:, 1],
    }
    assert table.column("term") == terms
    for name in COLUMNS[1:]:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=rtol, atol=0, err_msg=name)


@pytest.mark.parametrize("scale", ["none", "standardize", "max"])
def test_least_squares_is_ols_in_the_columns_units(tmp_path, scale):
    longley = sm.datasets.longley.load_pandas().data
    path = write(longley, tmp_path / "longley.csv")
    dm = ArrayDataModule(path=path, target="TOTEMP", scale=scale)
    model = at_optimum(LinearRegression(in_features=6), dm)
    table = model.coefficients(dm)
    exog = sm.add_constant(longley.drop(columns="TOTEMP"))
    result = sm.OLS(longley["TOTEMP"], exog).fit()
    assert_matches(table, result, ["(intercept)", *exog.columns[1:]])
    assert table.statistic == "t"
    assert table.df == 16 - 7
    assert table.converged


def test_least_squares_standard_errors_are_nists_certified_ones():
    problem = PROBLEMS["Longley"]
    x = torch.tensor(problem.x, dtype=torch.float64)
    y = torch.tensor(problem.y, dtype=torch.float64).reshape(-1, 1)
    dm = ArrayDataModule(x=x, y=y, scale="standardize")
    table = at_optimum(LinearRegression(in_features=6), dm).coefficients(dm)
    np.testing.assert_allclose(table.column("std_error"), problem.std_errors, rtol=1e-10)
    np.testing.assert_allclose(table.column("estimate"), problem.estimates, rtol=1e-10)


def test_filip_in_the_legendre_basis_has_the_certified_estimates_and_standard_errors():
    problem = PROBLEMS["Filip"]
    dm = ArrayDataModule(x=problem.x, y=problem.y)
    model = at_optimum(PolynomialRegression(degree=10, basis="legendre"), dm)
    table = model.coefficients(dm)
    assert table.column("term") == ["(intercept)", "x", *[f"x^{p}" for p in range(2, 11)]]
    np.testing.assert_allclose(table.column("estimate"), problem.estimates, rtol=1e-12)
    np.testing.assert_allclose(table.column("std_error"), problem.std_errors, rtol=1e-7)


def test_logistic_is_logit_with_z_statistics(tmp_path):
    spector = sm.datasets.spector.load_pandas().data
    path = write(spector, tmp_path / "spector.csv")
    dm = ArrayDataModule(path=path, target="GRADE", scale="standardize")
    table = at_optimum(LogisticRegression(in_features=3), dm).coefficients(dm)
    exog = sm.add_constant(spector[["GPA", "TUCE", "PSI"]])
    result = sm.Logit(spector["GRADE"], exog).fit(disp=0, tol=1e-12, maxiter=100)
    assert_matches(table, result, ["(intercept)", "GPA", "TUCE", "PSI"])
    assert table.statistic == "z"
    assert table.df is None


def test_one_hot_columns_are_named_and_match_logit_on_dummies(tmp_path):
    from palmerpenguins import load_penguins

    penguins = load_penguins()[["bill_length_mm", "flipper_length_mm", "island", "sex"]]
    path = write(penguins, tmp_path / "penguins.csv")
    dm = ArrayDataModule(path=path, target="sex", missing="drop", scale="standardize")
    table = at_optimum(LogisticRegression(in_features=dm.num_features), dm).coefficients(dm)
    complete = penguins.dropna()
    exog = pd.get_dummies(complete.drop(columns="sex"), columns=["island"], drop_first=True, dtype=float)
    result = sm.Logit((complete["sex"] == "male").astype(float), sm.add_constant(exog)).fit(disp=0, tol=1e-12)
    assert_matches(
        table, result, ["(intercept)", "bill_length_mm", "flipper_length_mm", "island=Dream", "island=Torgersen"]
    )


@pytest.mark.parametrize("names", [False, True], ids=["labels", "class-names"])
def test_softmax_is_mnlogit_against_the_first_class(tmp_path, names):
    anes = sm.datasets.anes96.load_pandas().data
    columns = ["logpopul", "selfLR", "age", "educ", "income"]
    frame = anes[[*columns, "PID"]].copy()
    if names:
        frame["PID"] = frame["PID"].map(lambda v: f"party {int(v)}")
    path = write(frame, tmp_path / "anes.csv")
    kwargs = {} if names else {"num_classes": 7}
    dm = ArrayDataModule(path=path, target="PID", scale="standardize", **kwargs)
    table = at_optimum(SoftmaxRegression(in_features=5, num_classes=7), dm).coefficients(dm)
    result = sm.MNLogit(anes["PID"], sm.add_constant(anes[columns])).fit(disp=0, method="newton", tol=1e-12)
    assert table.columns == ("class", *COLUMNS, *EXTRA_COLUMNS)
    expected_classes = [f"party {j}" if names else str(j) for j in range(1, 7) for _ in range(6)]
    assert table.column("class") == expected_classes
    assert table.column("term") == ["(intercept)", *columns] * 6
    conf = np.asarray(result.conf_int())  # rows: class by class, term by term
    theirs = {
        "estimate": np.asarray(result.params).T.reshape(-1),
        "std_error": np.asarray(result.bse).T.reshape(-1),
        "statistic": np.asarray(result.tvalues).T.reshape(-1),
        "p_value": np.asarray(result.pvalues).T.reshape(-1),
        "conf_low": conf[:, 0],
        "conf_high": conf[:, 1],
    }
    for name in COLUMNS[1:]:
        np.testing.assert_allclose(table.column(name), theirs[name], rtol=RTOL, err_msg=name)


def test_a_penalised_fit_has_estimates_only(tmp_path):
    spector = sm.datasets.spector.load_pandas().data
    dm = ArrayDataModule(path=write(spector, tmp_path / "s.csv"), target="GRADE")
    model = at_optimum(LogisticRegression(in_features=3, l2=0.05), dm)
    table = model.coefficients(dm)
    assert table.statistic is None
    assert "penalised" in table.note
    for name in COLUMNS[2:]:
        assert all(math.isnan(v) for v in table.column(name))
    table.write_csv(tmp_path / "c.csv")
    with (tmp_path / "c.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*COLUMNS, "optimum", "note"]
    # Estimates, and the exact optimum's beside them: the rest is empty.
    assert all(row[2:7] == [""] * 5 and float(row[1]) and float(row[7]) and row[8] == "" for row in rows[1:])


def test_a_run_that_has_not_converged_warns_and_still_has_a_table():
    problem = PROBLEMS["Norris"]
    dm = ArrayDataModule(x=problem.x, y=problem.y, scale="standardize")
    model = LinearRegression(lr=0.1)
    tiny_trainer(3).fit(model, dm)
    with pytest.warns(NotConvergedWarning, match=r"significant digits only \(R's summary prints 4\)"):
        table = model.coefficients(dm)
    assert not table.converged
    assert len(table) == 2
    assert table.accuracy is not None
    assert table.accuracy.digits < 4


def test_x_and_y_without_a_data_module_and_errors_name_the_argument():
    x = torch.linspace(0, 1, 10, dtype=torch.float64).reshape(-1, 1)
    model = LinearRegression().double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        table = model.coefficients(x=x, y=3 * x + 1 + 0.01 * torch.sin(40 * x))
    assert table.column("term") == ["(intercept)", "x0"]
    from lit_basics.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^datamodule"):
        model.coefficients()
    with pytest.raises(ArgumentError, match=r"^y"):
        model.coefficients(x=x)


def test_a_fit_writes_the_table_prints_twenty_terms_and_shows_it_in_tensorboard(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    generator = np.random.default_rng(0)
    x = generator.normal(size=(200, 24))
    y = x @ generator.normal(size=24) + generator.normal(size=200)
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(24)]).assign(y=y)
    path = write(frame, tmp_path / "wide.csv")
    cli = cli_main(
        [
            "fit",
            "--model=LinearRegression",
            "--model.lr=auto",
            "--data=ArrayDataModule",
            f"--data.path={path}",
            "--trainer.max_steps=400",
            "--trainer.precision=64-true",
            "--trainer.enable_progress_bar=false",
        ]
    )
    log_dir = Path(cli.trainer.log_dir)
    with (log_dir / "coefficients.csv").open() as handle:
        written = list(csv.DictReader(handle))
    assert [row["term"] for row in written] == ["(intercept)", *[f"c{i}" for i in range(24)]]
    table = cli.model.coefficients(cli.datamodule)
    assert [float(row["estimate"]) for row in written] == table.column("estimate")
    assert [float(row["std_error"]) for row in written] == table.column("std_error")
    out = capsys.readouterr().out
    assert f"Coefficients ({log_dir / 'coefficients.csv'}):" in out
    assert "c18" in out
    assert "c19 " not in out  # the 21st row and on are in the file
    assert f"... and 5 more row(s) in {log_dir / 'coefficients.csv'}" in out
    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    assert "coefficients/text_summary" in events.Tags()["tensors"]


@pytest.mark.parametrize("basis", ["power", "legendre"])
@pytest.mark.parametrize("scale", ["none", "standardize"])
def test_a_polynomial_on_scaled_x_reports_powers_of_the_raw_x(basis, scale):
    """The data module's scaling and the Legendre map compose; the table undoes both, exactly."""
    problem = PROBLEMS["Pontius"]
    dm = ArrayDataModule(x=problem.x, y=problem.y, scale=scale)
    table = at_optimum(PolynomialRegression(degree=2, basis=basis), dm).coefficients(dm)
    assert table.column("term") == ["(intercept)", "x", "x^2"]
    np.testing.assert_allclose(table.column("estimate"), problem.estimates, rtol=1e-9)
    np.testing.assert_allclose(table.column("std_error"), problem.std_errors, rtol=1e-7)
    # p-values from the certified values (statsmodels' OLS on raw powers up to 9e12 keeps ~5 digits
    # of the intercept's): t = estimate / std_error with n - 3 degrees of freedom.
    t = np.asarray(problem.estimates) / np.asarray(problem.std_errors)
    np.testing.assert_allclose(table.column("p_value"), 2 * scipy.stats.t.sf(np.abs(t), df=40 - 3), rtol=1e-6)


def test_a_table_of_fewer_rows_than_inputs_fits_through_the_cli(tmp_path, monkeypatch, capsys):
    """A text column with a level per row (statsmodels' committee, statecrime) gives more inputs
    than rows: the inputs past the rows' count are aliased and left out, as R's lm leaves them out
    (NA), the fit interpolates, and the standard errors are said to be not meaningful; no traceback."""
    monkeypatch.chdir(tmp_path)
    rows = ["name,a,y", *(f"n{i},{i * 0.5:g},{(i * 7) % 5}" for i in range(6))]
    (tmp_path / "wide.csv").write_text("\n".join(rows) + "\n")
    args = ["fit", "--model=LinearRegression", "--data=ArrayDataModule", "--data.path=wide.csv"]
    with warnings.catch_warnings():  # shown as the CLI shows them (one line each), not raised
        warnings.filterwarnings("always", category=LitBasicsWarning)
        cli_main([*args, "--trainer.max_steps=5", "--trainer.enable_progress_bar=false"])
    captured = capsys.readouterr()
    assert "name (6 levels, reference 'n0'; one per training row: an identifier?" in captured.out
    warned = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert warned[:2] == [
        "warning: 1 input(s) not defined because of singularities, each a linear combination of the intercept and "
        "the inputs before it: left out of the model, as R's lm and glm leave them out: a (a combination of more "
        "than 4 terms)",
        "warning: standard errors are not meaningful: 6 coefficients fit 6 rows exactly (no residual degrees of "
        "freedom)",
    ]
    assert warned[2].endswith(
        "what would help: more updates (--trainer.max_steps), standardized features "
        "(--data.init_args.scale=standardize), lr: auto with momentum: auto "
        "(--model.init_args.lr=auto --model.init_args.momentum=auto)"
    )
    assert len(warned) == 3
    assert "Traceback" not in captured.err
    table = pd.read_csv(tmp_path / "runs" / "linear" / "version_0" / "coefficients.csv", keep_default_na=False)
    assert table["term"].tolist() == ["(intercept)", *(f"name=n{i}" for i in range(1, 6)), "a"]
    assert table["note"].tolist() == [""] * 6 + ["aliased"]
    assert table.loc[6, "estimate"] == ""


def test_the_digits_that_are_right_against_statsmodels_optimum(tmp_path):
    """statsmodels' spector on its raw columns (κ = 5.7e4): after 4,000 updates of the best
    momentum an estimate has fewer than 4 right digits. The table says which, against the exact
    optimum (statsmodels' Logit, an independent referee), and how far in standard errors, and warns."""
    from lit_basics.callbacks import AutomaticStep
    from lit_basics.coefficients import DIGITS_WANTED

    spector = sm.datasets.spector.load_pandas().data
    dm = ArrayDataModule(path=write(spector, tmp_path / "spector.csv"), target="GRADE")
    torch.manual_seed(2017)
    model = LogisticRegression(in_features=3, lr="auto", momentum="auto", optimization="manual")
    trainer = tiny_trainer(4000, precision="64-true", callbacks=[AutomaticStep()])
    trainer.fit(model, dm)
    with pytest.warns(
        NotConvergedWarning, match=r"is right to \d\.\d significant digits only \(R's summary prints 4\)"
    ):
        table = model.coefficients(dm)
    result = sm.Logit(spector["GRADE"], sm.add_constant(spector[["GPA", "TUCE", "PSI"]])).fit(disp=0, tol=1e-12)
    optimum = np.asarray(result.params)
    np.testing.assert_allclose(table.column("optimum"), optimum, rtol=1e-8)
    estimates = np.asarray(table.column("estimate"))
    digits = -np.log10(np.abs(estimates - optimum) / np.abs(optimum))
    assert table.accuracy is not None
    assert table.accuracy.digits == pytest.approx(digits.min(), abs=1e-6)
    assert table.accuracy.term == table.column("term")[int(digits.argmin())]
    assert table.accuracy.digits < DIGITS_WANTED
    assert not table.converged
    distance = np.abs(estimates - optimum) / np.asarray(table.column("std_error"))  # at the trained parameters
    assert table.accuracy.distance == pytest.approx(distance.max(), rel=1e-9)
    assert table.accuracy.line().startswith(f"Estimates: within {table.accuracy.distance:.2g} standard errors")
    assert table.warning is not None
    assert "standardized features (--data.init_args.scale=standardize)" in table.warning
    # Standardised, the same fit reaches the optimum: no warning, every digit right that float64 holds.
    standardized = ArrayDataModule(path=str(tmp_path / "spector.csv"), target="GRADE", scale="standardize")
    torch.manual_seed(2017)
    model = LogisticRegression(in_features=3, lr="auto", momentum="auto", optimization="manual")
    tiny_trainer(2000, precision="64-true", callbacks=[AutomaticStep()]).fit(model, standardized)
    table = model.coefficients(standardized)
    assert table.converged
    assert table.warning is None
    assert table.accuracy is not None
    assert table.accuracy.digits > 10
