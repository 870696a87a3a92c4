"""Write a real public table as a user has it: the Wisconsin diagnostic breast cancer data (569
tumours, 30 measurements on scales from 0.001 to 4,000, 1 = benign), as shipped with scikit-learn.

    python scripts/own_data_example.py [folder]      # default: cancer/

writes ``train.csv`` (a header line, the 30 features and the ``benign`` target; 519 rows) and
``new.csv`` (the 30 feature columns of 50 other rows, no target: the rows to predict), and
``new_truth.csv`` (their targets, to check the predictions against). A seeded split; scikit-learn is
needed (a test dependency: ``pip install -e ".[dev]"``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer


def main(folder: str = "cancer") -> None:
    data = load_breast_cancer()
    names = [re.sub(r"\W+", "_", name).strip("_") for name in data.feature_names]
    order = np.random.default_rng(2017).permutation(len(data.data))
    new, train = order[:50], order[50:]
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    def row(values: np.ndarray) -> str:
        return ",".join(f"{v:g}" for v in values)

    with open(out / "train.csv", "w") as f:
        f.write(",".join([*names, "benign"]) + "\n")
        f.writelines(f"{row(data.data[i])},{data.target[i]}\n" for i in train)
    with open(out / "new.csv", "w") as f:
        f.write(",".join(names) + "\n")
        f.writelines(row(data.data[i]) + "\n" for i in new)
    with open(out / "new_truth.csv", "w") as f:
        f.write("benign\n")
        f.writelines(f"{data.target[i]}\n" for i in new)
    print(
        f"{out / 'train.csv'}: {len(train)} rows x 30 features + benign; {out / 'new.csv'}: {len(new)} rows to predict"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
