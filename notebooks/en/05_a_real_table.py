# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Beyond the notes: a real table, end to end
#
# [中文](../zh/05_a_real_table.ipynb) · [all notebooks](../README.md)
#
# The notes' data are clean: numbers only, nothing missing. Real tables hold text columns, gaps and
# class names. This notebook takes one as it ships — the Palmer penguins (344 penguins of three
# species on three islands, public domain, from the `palmerpenguins` package) — and with the
# `lit-basics` command, called from Python here (`cli_main` takes the same words as the terminal):
#
# 1. fits a logistic regression of a penguin's sex on its species, island and four measurements,
#    straight from the CSV file (text columns one-hot encoded, rows with a missing value dropped,
#    features standardised);
# 2. reads the coefficient table and checks it against statsmodels;
# 3. predicts the sex of penguins the fit never saw, from a file of their features.

# %%
import shutil
from pathlib import Path

import pandas as pd
from palmerpenguins import load_penguins

from lit_basics.cli import cli_main, filter_known_warnings

filter_known_warnings()
RUNS = Path("runs/05_a_real_table")
shutil.rmtree(RUNS, ignore_errors=True)
RUNS.mkdir(parents=True)

# %% [markdown]
# ## The table
#
# Shuffle it (seeded), keep 12 penguins back as "new", and write both as CSV files, `NA` for what was
# not measured, as R and pandas write them:

# %%
penguins = load_penguins().sample(frac=1.0, random_state=2017).reset_index(drop=True)
train, new = penguins.iloc[:-12], penguins.iloc[-12:]
features = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
train.to_csv(RUNS / "train.csv", index=False, na_rep="NA")
new[features].to_csv(RUNS / "new.csv", index=False, na_rep="NA")
print(train.shape, new.shape)
print(train.isna().sum().to_dict())
train.head()

# %% [markdown]
# ## Fit
#
# The target `sex` holds class names (`female`, `male`): the positive class is the second in
# sorted order, `male`. `species` and `island` hold text: each becomes one 0/1 input per level but
# the first (R's treatment contrasts). `missing=drop` drops the rows with a missing value, as R's
# `na.omit` does. `lr=auto` and `momentum=auto` choose the step from the data's curvature, and
# `64-true` trains in float64, so 2000 updates reach the optimum: the line `Estimates:` says to how many
# digits, against the exact optimum.

# %%
fit_args = [
    "--model=LogisticRegression",
    "--model.lr=auto",
    "--model.momentum=auto",
    "--data=ArrayDataModule",
    f"--data.path={RUNS / 'train.csv'}",
    "--data.target=sex",
    f"--data.features=[{', '.join(features)}]",
    "--data.missing=drop",
    "--data.scale=standardize",
    "--trainer.precision=64-true",
    f"--trainer.logger.init_args.save_dir={RUNS}",
    "--trainer.enable_progress_bar=false",
]
cli = cli_main(["fit", *fit_args, "--trainer.max_steps=2000"])

# %% [markdown]
# The data line says what the reader found: rows, classes, dropped rows, the one-hot columns and
# their reference levels. The coefficient table is in the units of the columns (grams, millimetres),
# although the model trained on standardised inputs; it is also in the run's `coefficients.csv`:

# %%
run = Path(cli.trainer.log_dir)
table = pd.read_csv(run / "coefficients.csv")
table

# %% [markdown]
# ## Against statsmodels
#
# The same model in statsmodels' formula interface (it drops the rows with a missing value too):

# %%
import statsmodels.formula.api as smf

complete = train.dropna(subset=[*features, "sex"]).assign(male=lambda t: (t.sex == "male").astype(float))
formula = "male ~ C(species) + C(island) + bill_length_mm + bill_depth_mm + flipper_length_mm + body_mass_g"
reference = smf.logit(formula, complete).fit(disp=0)
comparison = pd.DataFrame(
    {
        "term": table.term,
        "lit_basics": table.estimate.to_numpy(),
        "statsmodels": reference.params.to_numpy(),
        "lit_basics se": table.std_error.to_numpy(),
        "statsmodels se": reference.bse.to_numpy(),
    }
)
print(comparison.to_string(index=False))
relative = ((comparison.lit_basics - comparison.statsmodels).abs() / comparison.statsmodels.abs()).max()
print(f"largest relative difference of an estimate: {relative:.1e}")

# %% [markdown]
# ## Predict new rows
#
# `predict` with the fit's arguments, `--ckpt_path last` (the fit's last checkpoint) and the new
# rows' file. The new rows are encoded as the training rows were (the same levels, the training
# rows' means and standard deviations); a row with a missing value keeps its place with empty
# predictions.

# %%
cli = cli_main(["predict", *fit_args, "--ckpt_path=last", f"--data.predict_path={RUNS / 'new.csv'}"])

# %%
predictions = pd.read_csv(Path(cli.trainer.log_dir) / "predictions.csv")
predictions["truth"] = new.sex.to_numpy()
predictions[["species", "island", "body_mass_g", "probability_male", "label", "truth"]]

# %%
known = predictions.dropna(subset=["label", "truth"])
print(f"right on {(known.label == known.truth).sum()} of {len(known)} new penguins whose sex is known")

# %% [markdown]
# The same, in a terminal, is one command per step (with `--data.path`, `--data.target`, ... as
# above). To look at the run in TensorBoard:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/05_a_real_table
# ```
#
# More on real tables (delimiters, Parquet, missing values, a million rows, several processes):
# [docs/real-tables.md](../../docs/real-tables.md); on the coefficient table:
# [docs/the-answer.md](../../docs/the-answer.md).
