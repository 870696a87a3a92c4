"""The fit's statistics (glance.csv) and robust standard errors, against statsmodels at the exact
optimum (OLS, Logit, GLM's deviances, MNLogit), to 1e-6; their place in a fit's outputs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_basics.cli import cli_main
from lit_basics.data import ArrayDataModule
from lit_basics.errors import ArgumentError
from lit_basics.fit_statistics import CLASSIFIER_COLUMNS, LEAST_SQUARES_COLUMNS
from lit_basics.models import LinearRegression, LogisticRegression, SoftmaxRegression

pytestmark = pytest.mark.usefixtures("plain_argv")
RTOL = 1e-6
MNLOGIT_COLUMNS = ["logpopul", "selfLR", "age", "educ", "income"]


def at_optimum(model, dm):
    dm.use_dtype(torch.float64)
    model.double()
    x, y = dm.training_rows()
    best = model.optimum(x, y)
    with torch.no_grad():
        model.w.copy_(best.w)
        model.b.copy_(best.b)
    return model


@pytest.fixture
def longley(tmp_path):
    frame = sm.datasets.longley.load_pandas().data
    frame.to_csv(tmp_path / "longley.csv", index=False)
    return frame, str(tmp_path / "longley.csv")


@pytest.fixture
def spector(tmp_path):
    frame = sm.datasets.spector.load_pandas().data
    frame.to_csv(tmp_path / "spector.csv", index=False)
    return frame, str(tmp_path / "spector.csv")


@pytest.fixture
def anes(tmp_path):
    frame = sm.datasets.anes96.load_pandas().data[[*MNLOGIT_COLUMNS, "PID"]]
    frame.to_csv(tmp_path / "anes.csv", index=False)
    return frame, str(tmp_path / "anes.csv")


@pytest.mark.parametrize("std_errors", ["classical", "HC0", "HC1", "HC2", "HC3"])
def test_least_squares_is_ols_with_each_covariance(longley, std_errors):
    frame, path = longley
    dm = ArrayDataModule(path=path, target="TOTEMP", scale="standardize")
    model = at_optimum(LinearRegression(in_features=6, std_errors=std_errors), dm)
    table, glance = model.coefficients(dm), model.glance(dm)
    cov_type = "nonrobust" if std_errors == "classical" else std_errors
    result = sm.OLS(frame["TOTEMP"], sm.add_constant(frame.drop(columns="TOTEMP"))).fit(cov_type=cov_type)
    conf = np.asarray(result.conf_int())
    theirs = {
        "estimate": result.params,
        "std_error": result.bse,
        "statistic": result.tvalues,
        "p_value": result.pvalues,
        "conf_low": conf[:, 0],
        "conf_high": conf[:, 1],
    }
    for column, values in theirs.items():
        np.testing.assert_allclose(table.column(column), np.asarray(values), rtol=RTOL, err_msg=column)
    # statsmodels' robust OLS tests with the normal distribution: the statistic is z.
    assert table.statistic == ("t" if std_errors == "classical" else "z")
    assert table.std_errors == std_errors
    assert glance.columns == LEAST_SQUARES_COLUMNS
    expected = {
        "r_squared": result.rsquared,
        "adj_r_squared": result.rsquared_adj,
        "sigma": math.sqrt(result.mse_resid),
        "statistic": result.fvalue,  # robust: the Wald test with that covariance, as statsmodels
        "p_value": result.f_pvalue,
        "df": result.df_model,
        "log_lik": result.llf,
        "aic": result.aic,
        "bic": result.bic,
        "deviance": result.ssr,
        "df_residual": result.df_resid,
        "nobs": result.nobs,
    }
    for name, value in expected.items():
        assert glance[name] == pytest.approx(value, rel=RTOL), name


@pytest.mark.parametrize("std_errors", ["classical", "HC0"])
def test_logistic_is_logit_and_glm(spector, std_errors):
    frame, path = spector
    dm = ArrayDataModule(path=path, target="GRADE", scale="standardize")
    model = at_optimum(LogisticRegression(in_features=3, std_errors=std_errors), dm)
    table, glance = model.coefficients(dm), model.glance(dm)
    exog = sm.add_constant(frame[["GPA", "TUCE", "PSI"]])
    cov_type = "nonrobust" if std_errors == "classical" else std_errors
    result = sm.Logit(frame["GRADE"], exog).fit(disp=0, tol=1e-12, cov_type=cov_type)
    glm = sm.GLM(frame["GRADE"], exog, family=sm.families.Binomial()).fit()
    for column, values in (("std_error", result.bse), ("statistic", result.tvalues), ("p_value", result.pvalues)):
        np.testing.assert_allclose(table.column(column), np.asarray(values), rtol=RTOL, err_msg=column)
    assert glance.columns == CLASSIFIER_COLUMNS
    expected = {
        "null_deviance": glm.null_deviance,
        "df_null": glm.df_resid + glm.df_model,
        "log_lik": result.llf,
        "aic": result.aic,
        "bic": result.bic,
        "deviance": glm.deviance,
        "df_residual": result.df_resid,
        "nobs": result.nobs,
        "pseudo_r_squared": result.prsquared,
        "statistic": result.llr,
        "p_value": result.llr_pvalue,
        "df": result.df_model,
    }
    for name, value in expected.items():
        assert glance[name] == pytest.approx(value, rel=RTOL), name
    assert -glance["null_deviance"] / 2 == pytest.approx(result.llnull, rel=RTOL)


@pytest.mark.parametrize("std_errors", ["classical", "HC0"])
def test_softmax_is_mnlogit(anes, std_errors):
    frame, path = anes
    dm = ArrayDataModule(path=path, target="PID", scale="standardize", num_classes=7)
    model = at_optimum(SoftmaxRegression(in_features=5, num_classes=7, std_errors=std_errors), dm)
    table, glance = model.coefficients(dm), model.glance(dm)
    cov_type = "nonrobust" if std_errors == "classical" else std_errors
    result = sm.MNLogit(frame["PID"], sm.add_constant(frame[MNLOGIT_COLUMNS])).fit(
        disp=0, method="newton", tol=1e-12, cov_type=cov_type
    )
    np.testing.assert_allclose(table.column("std_error"), np.asarray(result.bse).T.reshape(-1), rtol=RTOL)
    expected = {
        "log_lik": result.llf,
        "aic": result.aic,
        "bic": result.bic,
        "deviance": -2 * result.llf,
        "df_residual": result.df_resid,
        "nobs": result.nobs,
        "pseudo_r_squared": result.prsquared,
        "statistic": result.llr,
        "df": result.df_model,
    }
    for name, value in expected.items():
        assert glance[name] == pytest.approx(value, rel=RTOL), name
    # statsmodels fits the null model iteratively; the intercept-only optimum is the class shares.
    assert -glance["null_deviance"] / 2 == pytest.approx(result.llnull, rel=1e-8)


def test_a_penalised_fit_keeps_what_keeps_its_meaning(spector):
    _, path = spector
    dm = ArrayDataModule(path=path, target="GRADE", scale="standardize")
    glance = at_optimum(LogisticRegression(in_features=3, l2=0.1), dm).glance(dm)
    kept = {name for name, value in glance.as_dict().items() if not math.isnan(value)}
    assert kept == {"log_lik", "deviance", "nobs"}
    assert glance.to_text().startswith("Residual deviance: ")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (lambda: LogisticRegression(std_errors="HC1"), r"^std_errors 'HC1' corrects least squares' residuals; "),
        (lambda: SoftmaxRegression(std_errors="HC3"), r"^std_errors 'HC3' corrects least squares' residuals; "),
        (lambda: LinearRegression(std_errors="HC4"), r"^std_errors must be one of 'classical', 'HC0', 'HC1'"),
    ],
)
def test_a_covariance_a_family_does_not_have_names_the_argument(model, message):
    with pytest.raises(ArgumentError, match=message):
        model()


def test_a_fit_writes_glance_prints_r_s_lines_and_logs_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    frame = sm.datasets.stackloss.load_pandas().data
    frame.to_csv(tmp_path / "stackloss.csv", index=False)
    cli = cli_main(
        [
            "fit",
            "--model=LinearRegression",
            "--model.lr=auto",
            "--model.momentum=auto",
            "--model.std_errors=HC3",
            "--model.optimization=manual",  # the notes' loop, 100 updates a Lightning step
            "--data=ArrayDataModule",
            "--data.path=stackloss.csv",
            "--data.target=STACKLOSS",
            "--data.scale=standardize",
            "--trainer.precision=64-true",
            "--trainer.max_steps=300",
            "--trainer.enable_progress_bar=false",
        ]
    )
    log_dir = Path(cli.trainer.log_dir)
    glance = pd.read_csv(log_dir / "glance.csv")
    assert list(glance.columns) == list(LEAST_SQUARES_COLUMNS)
    result = sm.OLS(frame["STACKLOSS"], sm.add_constant(frame.drop(columns="STACKLOSS"))).fit(cov_type="HC3")
    for name, theirs in (("r_squared", result.rsquared), ("statistic", result.fvalue), ("p_value", result.f_pvalue)):
        assert glance.loc[0, name] == pytest.approx(theirs, rel=1e-6), name
    table = pd.read_csv(log_dir / "coefficients.csv")
    np.testing.assert_allclose(table["optimum"], np.asarray(result.params), rtol=1e-9)
    np.testing.assert_allclose(table["std_error"], np.asarray(result.bse), rtol=1e-6)
    out = capsys.readouterr().out
    assert f"Fit ({log_dir / 'glance.csv'}):" in out
    assert re.search(r"^Residual standard error: 3\.243 on 17 degrees of freedom$", out, re.M)
    assert re.search(r"^Multiple R-squared:  0\.9136,\tAdjusted R-squared:  0\.8983$", out, re.M)
    assert re.search(r"^F-statistic \(Wald, HC3 covariance\): 47\.18 on 3 and 17 DF,  p-value: 1\.867e-08$", out, re.M)
    assert re.search(r"^Estimates: within \S+ standard errors of the exact optimum; least accurate: ", out, re.M)
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    assert {"hp/r_squared", "hp/aic", "hp/sigma", "hp/nobs"} <= set(events.Tags()["scalars"])
    assert events.Scalars("hp/r_squared")[-1].value == pytest.approx(result.rsquared, rel=1e-6)
