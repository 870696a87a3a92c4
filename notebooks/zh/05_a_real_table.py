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
# # 5. 笔记之外：一张真实的数据表，从头到尾
#
# [English](../en/05_a_real_table.ipynb) · [全部 notebook](../README.md)
#
# 笔记的数据很干净：只有数字，没有缺失。真实的数据表里有文本列、空缺和类别名。本 notebook 拿一张原样发布的表——帕尔默企鹅（Palmer penguins：三个岛上三个物种的 344 只企鹅，公有领域，来自 `palmerpenguins` 包）——用 `lit-basics` 命令（这里从 Python 调用：`cli_main` 接收的参数和在终端里输入的一样）：
#
# 1. 直接从 CSV 文件拟合一个 Logistic 回归，用企鹅的物种、所在岛屿和四项测量值预测它的性别（文本列做独热编码，含缺失值的行被丢弃，特征做标准化）；
# 2. 读出系数表，并与 statsmodels 对照；
# 3. 从一个只有特征的文件中，预测训练时从未见过的企鹅的性别。

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
# ## 数据表
#
# （用固定的种子）打乱顺序，留出 12 只企鹅作为“新数据”，把两部分都写成 CSV 文件，未测量的值写作 `NA`，和 R、pandas 的写法一样：

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
# ## 拟合
#
# 目标列 `sex` 是类别名（`female`、`male`）：按排序的第二个类别 `male` 是正类。`species` 和 `island` 是文本：每个水平（除第一个以外）变成一个 0/1 输入（R 的 treatment 对比编码）。`missing=drop` 丢弃含缺失值的行，和 R 的 `na.omit` 一样。`lr=auto` 和 `momentum=auto` 根据数据的曲率选择步长，`64-true` 在 float64 下训练，所以 2000 次更新就能到达最优：`Estimates:` 那一行说明估计值与精确最优解相比有几位有效数字是对的。

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
# 数据那一行说明读取时发现了什么：行数、类别、丢弃的行、独热编码的列及其参照水平。虽然模型是在标准化的输入上训练的，系数表却以各列的单位（克、毫米）表示；它也保存在这次运行的 `coefficients.csv` 中：

# %%
run = Path(cli.trainer.log_dir)
table = pd.read_csv(run / "coefficients.csv")
table

# %% [markdown]
# ## 与 statsmodels 对照
#
# 用 statsmodels 的公式接口拟合同一个模型（它同样丢弃含缺失值的行）：

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
# ## 预测新数据
#
# `predict` 使用拟合时的参数、`--ckpt_path last`（拟合的最后一个检查点）和新数据的文件。新数据的编码方式与训练数据相同（同样的水平，训练数据的均值和标准差）；含缺失值的行保留它的位置，预测值为空。

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
# 在终端里，每一步都是一条命令（`--data.path`、`--data.target` 等参数同上）。要在 TensorBoard 中查看这次运行：
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/05_a_real_table
# ```
#
# 关于真实数据表的更多内容（分隔符、Parquet、缺失值、一百万行、多进程）：[docs/real-tables.md](../../docs/real-tables.md)；关于系数表：[docs/the-answer.md](../../docs/the-answer.md)。
