"""Write a real mixed table as it ships: the Palmer penguins (344 penguins of three species on three
islands; text columns, ``NA`` for what was not measured), from the ``palmerpenguins`` package (CC0,
a test dependency: ``pip install -e ".[dev]"``).

    python scripts/penguins_example.py [folder]      # default: penguins/

writes ``train.csv`` (294 rows, every column, ``NA`` as shipped), ``new.csv`` (the feature columns of
50 other penguins: the rows to predict, ``NA`` kept) and ``new_truth.csv`` (their species), from a
seeded shuffle. docs/real-tables.md walks through them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from palmerpenguins import load_penguins

HELD_BACK = 50


def main(folder: str = "penguins") -> None:
    frame = load_penguins().sample(frac=1.0, random_state=2017).reset_index(drop=True)
    train, new = frame.iloc[:-HELD_BACK], frame.iloc[-HELD_BACK:]
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    features = [c for c in frame.columns if c != "species"]
    train.to_csv(out / "train.csv", index=False, na_rep="NA")
    new[features].to_csv(out / "new.csv", index=False, na_rep="NA")
    new[["species"]].to_csv(out / "new_truth.csv", index=False)
    print(f"{out / 'train.csv'}: {len(train)} rows; {out / 'new.csv'}: {len(new)} rows to predict (species held back)")


if __name__ == "__main__":
    main(*sys.argv[1:])
