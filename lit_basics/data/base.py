"""The shared base of every lit_basics DataModule: a data set held in memory, served without copies."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from typing_extensions import override

from lit_basics.data.loader import ResidentBatches, ShuffleOrder
from lit_basics.data.parse import DataFileError, Table, read_table
from lit_basics.data.scaling import SCALES, FeatureScaling, Scale
from lit_basics.errors import ArgumentError
from lit_basics.validation import check_choice, check_positive_int

__all__ = ["InMemoryDataModule", "as_rows"]


def as_rows(name: str, values: Any) -> torch.Tensor:
    """An array-like as a tensor of shape ``(N, F)`` (float32 or float64 as given; integers become
    float64), refusing NaN/inf. The data module rounds it to float32 once, after any scaling.

    A 1-D input of length N becomes ``(N, 1)``.

    Raises:
        ArgumentError: naming ``name``, when the values are not numbers, not 1-D/2-D, empty or non-finite.
    """
    # No float64 detour: a float32 array or tensor is used as it is (held once, not copied).
    if torch.is_tensor(values):
        tensor = values.detach()
    else:
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ArgumentError(name, f"must be an array of numbers: {exc}") from None
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 2:
        raise ArgumentError(name, f"must have shape (N,) or (N, F), got {tuple(tensor.shape)}")
    if tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ArgumentError(name, f"is empty, shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        tensor = tensor.double()
    elif tensor.dtype not in (torch.float32, torch.float64):
        tensor = tensor.to(torch.float32)
    row = first_non_finite_row(tensor)
    if row is not None:
        raise ArgumentError(name, f"has a non-finite value (NaN or inf) in row {row}")
    return tensor


def first_non_finite_row(tensor: torch.Tensor) -> int | None:
    """The first row of ``tensor`` ``(N, F)`` holding NaN or inf, or ``None``."""
    # Checked in chunks of rows: a mask of the whole array would cost a quarter of float32 data.
    chunk = 1 << 20
    for start in range(0, tensor.shape[0], chunk):
        finite = torch.isfinite(tensor[start : start + chunk])
        if not bool(finite.all()):
            return start + int((~finite).any(dim=1).nonzero()[0, 0])
    return None


class InMemoryDataModule(pl.LightningDataModule):
    """Full-batch gradient descent data, held once, sliced in place.

    Subclasses load their data in ``__init__`` (eagerly, so errors surface before a run starts and
    ``num_features`` is known when the CLI links it to the model) and call :meth:`_set_data`.

    Splits: with ``val_fraction > 0`` a seeded random ``round(N * val_fraction)`` rows (at least one)
    are held out for validation and test; otherwise validation is off and ``test`` evaluates on the
    whole data set (as the notes report accuracy on the data they train on). ``predict`` runs over
    the rows of ``predict_path`` when it is given, else over every row, in file order.

    Scaling (``scale``) is learned from the training rows only, applied to every split and to the
    predict rows, saved in every checkpoint (:meth:`state_dict`) and restored from it
    (:meth:`load_state_dict`): a model is always fed features scaled as it was trained.

    Args:
        batch_size: samples per update; ``None`` (default) is the full batch, as in the notes.
        shuffle: reshuffle the training rows every pass (seeded); default file order.
        val_fraction: share of rows held out, in ``[0, 1)``.
        seed: seed of the split and of the shuffle order (never the global RNG).
        passes_per_epoch: passes over the training data per Lightning epoch. Full-batch runs do one
            update per pass; serving many passes per epoch saves Lightning's per-epoch overhead.
            Epoch numbers in logs count Lightning epochs: one Lightning epoch = this many passes.
        scale: ``"none"``, ``"max"`` (each feature divided by its training maximum, as the notes'
            logistic regression) or ``"standardize"`` (mean 0, standard deviation 1 over the
            training rows, as scikit-learn's ``StandardScaler``).
        predict_path: a CSV file of new rows, the feature columns only (a header line naming them
            as the training data does, or none): what ``predict`` runs over.
    """

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "none",
        predict_path: str | None = None,
    ) -> None:
        super().__init__()
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ArgumentError("batch_size", f"must be a positive integer or null (full batch), got {batch_size!r}")
        if not (
            not isinstance(val_fraction, bool) and isinstance(val_fraction, (int, float)) and 0.0 <= val_fraction < 1.0
        ):
            raise ArgumentError("val_fraction", f"must be in [0, 1), got {val_fraction!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ArgumentError("seed", f"must be an integer, got {seed!r}")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.val_fraction = float(val_fraction)
        self.seed = seed
        self.passes_per_epoch = check_positive_int("passes_per_epoch", passes_per_epoch)
        self.scale = check_choice("scale", scale, SCALES)
        self.predict_path = check_path("predict_path", predict_path)
        self.x = self.y = torch.empty(0, 1)
        self.feature_names: list[str] | None = None
        self.scaling = FeatureScaling.fit("none", torch.empty(0, 1))
        # Pass p is always shuffled the same way (see ShuffleOrder).
        self._order = ShuffleOrder(seed)
        self._train_index: torch.Tensor | None = None
        self._val_index: torch.Tensor | None = None
        self._raw_x = torch.empty(0, 1)
        self._dtype = torch.float32
        self._table: Table | None = None  # the file the rows came from, for errors naming its lines
        self._predict_table: Table | None = None
        self._predict_x: torch.Tensor | None = None

    def _set_data(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        table: Table | None = None,
        feature_names: list[str] | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Install the data set: ``x`` of shape ``(N, F)`` as read (float64 from a file; float32 or
        float64 from arrays), scaled by :attr:`scale` and rounded once to ``dtype`` (float32; float64
        where the model wants more precision before its own cast), and ``y`` of shape ``(N, 1)``:
        float targets, or int64 class labels ``0..C-1`` for a classifier (then :attr:`num_classes`
        is ``C``). ``table`` is the file the rows came from (row ``i`` is ``table.lines[i]``)."""
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
        if y.ndim != 2 or y.shape[1] != 1:
            raise ValueError(f"y must have one column, got shape {tuple(y.shape)}")
        if not x.is_floating_point() or not (y.is_floating_point() or y.dtype == torch.int64):
            raise ValueError(f"x must be floating point and y floating point or int64, got {x.dtype} and {y.dtype}")
        if feature_names is not None and len(feature_names) != x.shape[1]:
            raise ValueError(f"{len(feature_names)} feature names for {x.shape[1]} features")
        self._raw_x, self._dtype, self._table, self.feature_names = x, dtype, table, feature_names
        if y.is_floating_point():
            y = self._rounded("target", y, y.to(torch.float32))
        self.y = y
        n = x.shape[0]
        if self.val_fraction > 0:
            n_val = max(1, round(n * self.val_fraction))
            if n_val >= n:
                raise ArgumentError(
                    "val_fraction", f"must leave training rows, got {self.val_fraction}: all {n} rows would be held out"
                )
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
            # Sorted, so both splits keep file order.
            self._val_index = order[:n_val].sort().values
            self._train_index = order[n_val:].sort().values
        else:
            # No validation split: shadow val_dataloader with the base hook so that Lightning sees
            # it as not overridden and skips validation (an empty loader would warn every run).
            self.val_dataloader = super().val_dataloader  # type: ignore[method-assign]
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path, int(x.shape[1]))
        train_x = x if self._train_index is None else x.index_select(0, self._train_index)
        self._install_scaling(FeatureScaling.fit(self.scale, train_x, feature_names))

    def _install_scaling(self, scaling: FeatureScaling) -> None:
        """Scale the features (and the predict rows) with ``scaling``, on the device they are on."""
        device = self.x.device if self.x.numel() else self._raw_x.device
        self.scaling = scaling
        self.x = self._rounded("features", self._raw_x, scaling.apply(self._raw_x, self._dtype)).to(device)
        if self._predict_table is not None:
            raw = torch.from_numpy(self._predict_table.values)
            self._predict_x = self._rounded("predict", raw, scaling.apply(raw, self._dtype)).to(device)

    def _rounded(self, what: str, raw: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
        """``rounded`` if every value is finite, else an error naming the first value that is not:
        a number the float32 tensors cannot hold (or whose scaling overflowed)."""
        row = first_non_finite_row(rounded)
        if row is None:
            return rounded
        column = int((~torch.isfinite(rounded[row])).nonzero()[0, 0]) if rounded.ndim == 2 else 0
        value = float(raw[row, column]) if raw.ndim == 2 else float(raw[row])
        table = self._predict_table if what == "predict" else self._table
        problem = f"{value:g} cannot be held in float32" + (
            "" if self.scaling.identity else f" once scaled ({self.scale})"
        )
        if table is not None:
            label = table.column_label(column) if what != "target" else "the target column"
            if what == "features" and self.feature_names is not None and table is self._table:
                label = f"feature {column + 1} ({self.feature_names[column]!r})"
            raise DataFileError(f"{table.path}:{int(table.lines[row])}: {label}: {problem}")
        argument = "y" if what == "target" else "x"
        raise ArgumentError(argument, f"row {row}, column {column}: {problem}")

    def _read_predict_rows(self, path: str, features: int) -> None:
        """The new rows of ``path``: the ``features`` feature columns only, named as the training features."""
        table = read_table(path)
        if table.names is not None and self.feature_names is not None:
            expected = self.feature_names
            if list(table.names) != expected:
                missing = [n for n in expected if n not in table.names]
                extra = [n for n in table.names if n not in expected]
                parts = []
                if missing:
                    parts.append(f"missing {', '.join(map(repr, missing))}")
                if extra:
                    parts.append(f"not features of the training data: {', '.join(map(repr, extra))}")
                if not parts:
                    parts.append(f"the columns are in another order; expected {', '.join(map(repr, expected))}")
                raise DataFileError(f"{path}:{table.header_line}: the header's columns: {'; '.join(parts)}")
        elif table.num_columns != features:
            what = "the target too?" if table.num_columns == features + 1 else "one per feature"
            raise DataFileError(
                f"{path}:{int(table.lines[0])}: {table.num_columns} column(s), the model has {features} feature(s) "
                f"({what}): a predict file holds the feature columns only"
            )
        self._predict_table = table

    # --- what the data module learned and serves ------------------------------------------------
    @override
    def state_dict(self) -> dict[str, Any]:
        """The scaling learned from the training rows, and the feature names: saved in every checkpoint."""
        return {"scaling": self.scaling.state_dict(), "feature_names": self.feature_names}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the scaling a checkpoint was trained with (Lightning calls this after ``setup``)."""
        if "scaling" in state_dict:
            self._install_scaling(FeatureScaling.from_state(state_dict["scaling"]))

    def transform(self, x: Any) -> torch.Tensor:
        """New rows ``x`` ``(N, F)`` (array-like, as read: unscaled) as the model sees them: scaled
        with the statistics learned from the training rows, rounded to the data's dtype.

        Example:
            >>> from lit_basics.data import ArrayDataModule
            >>> dm = ArrayDataModule(x=[[1.0, 10.0], [3.0, 30.0]], y=[0, 1], scale="standardize")
            >>> dm.transform([[2.0, 40.0]]).tolist()
            [[0.0, 2.0]]
        """
        rows = as_rows("x", x)
        if rows.shape[1] != self.num_features:
            raise ArgumentError("x", f"has {rows.shape[1]} columns, the data has {self.num_features} features")
        return self._rounded("x", rows, self.scaling.apply(rows.cpu(), self._dtype))

    @property
    def num_classes(self) -> int | None:
        """``C`` when the targets are class labels ``0..C-1`` (the CLI passes it to a classifier's
        ``num_classes``); ``None`` for real-valued targets."""
        return None

    @property
    def num_features(self) -> int:
        """Number of input features ``F``; the CLI passes it to the model's ``in_features``."""
        return int(self.x.shape[1])

    @property
    def num_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def predict_rows(self) -> Table | None:
        """The table of new rows read from ``predict_path`` (unscaled, as written), or ``None``."""
        return self._predict_table

    def column_names(self) -> list[str]:
        """The feature names (from a header line), else ``x0, x1, ...``."""
        return list(self.feature_names or [f"x{i}" for i in range(self.num_features)])

    @override
    def setup(self, stage: str) -> None:
        # Move the data to the training device once; batches are then views, never per-step copies.
        if self.trainer is not None:
            device = self.trainer.strategy.root_device
            self.x, self.y = self.x.to(device), self.y.to(device)
            if self._predict_x is not None:
                self._predict_x = self._predict_x.to(device)
            for name in ("_train_index", "_val_index"):
                index = getattr(self, name)
                if index is not None:
                    setattr(self, name, index.to(device))

    def training_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All training rows ``(x, y)`` (every rank's shard together), on the data's device."""
        return self._rows(self._train_index)

    def raw_training_features(self) -> torch.Tensor:
        """The training rows' features as read (before scaling), on the host."""
        index = None if self._train_index is None else self._train_index.cpu()
        return self._raw_x if index is None else self._raw_x.index_select(0, index)

    def _rows(self, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if index is None:
            return self.x, self.y
        return self.x.index_select(0, index), self.y.index_select(0, index)

    def _loader(self, split: tuple[torch.Tensor, torch.Tensor], *, train: bool) -> ResidentBatches:
        rank, world_size = 0, 1
        progress = None
        trainer = self.trainer
        if trainer is not None:
            rank, world_size = trainer.global_rank, trainer.world_size

            def progress() -> int:
                return int(trainer.global_step)

        return ResidentBatches(
            *split,
            batch_size=self.batch_size,
            shuffle=self.shuffle and train,
            seed=self.seed,
            passes=self.passes_per_epoch if train else 1,
            rank=rank,
            world_size=world_size,
            order=self._order,
            progress=progress if train else None,
        )

    @override
    def train_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._train_index), train=True)

    @override
    def val_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False)

    @override
    def test_dataloader(self) -> ResidentBatches:
        return self._loader(self._rows(self._val_index), train=False)

    @override
    def predict_dataloader(self) -> ResidentBatches:
        if self._predict_x is not None:  # new rows: no targets
            return self._loader((self._predict_x, self._predict_x.new_empty(len(self._predict_x), 0)), train=False)
        return self._loader((self.x, self.y), train=False)

    @property
    def num_training_rows(self) -> int:
        return self.num_samples if self._train_index is None else int(self._train_index.numel())

    @property
    def full_batch(self) -> bool:
        """Every training batch is all training rows in a fixed order (see :class:`~lit_basics.data.FullBatch`)."""
        return not self.shuffle and (self.batch_size is None or self.batch_size >= self.num_training_rows)

    def describe(self) -> str:
        """One line saying what the training loop will see."""
        rows = self.num_training_rows
        batches = 1 if self.batch_size is None else math.ceil(rows / self.batch_size)
        batch = "full batch" if self.batch_size is None else f"batch_size={self.batch_size}"
        order = ", shuffled" if self.shuffle else ""
        classes = f", {self.num_classes} classes" if self.num_classes is not None else ""
        scaled = {"none": "", "max": " (divided by their maxima)", "standardize": " (standardized)"}[self.scale]
        return (
            f"{type(self).__name__}: {rows} training rows x {self.num_features} features{scaled}{classes}, "
            f"{batch}{order}, "
            f"one Lightning epoch = {self.passes_per_epoch} pass(es) = {self.passes_per_epoch * batches} batch(es)"
        )


def check_path(name: str, value: Any) -> str | None:
    """``value`` as a path string, or ``None``; an empty string names no file.

    Example:
        >>> check_path("path", "")
        Traceback (most recent call last):
        ...
        lit_basics.errors.ArgumentError: path is empty: give a file, or leave it out (null)
    """
    if value is None:
        return None
    if not str(value).strip():
        raise ArgumentError(name, "is empty: give a file, or leave it out (null)")
    return str(value)
