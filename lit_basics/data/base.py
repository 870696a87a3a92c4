"""The shared base of every lit_basics DataModule: a data set held in memory, served without copies."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from typing_extensions import override

from lit_basics.data.aliasing import Aliasing, aliasing_of_rows
from lit_basics.data.describe import describe
from lit_basics.data.encoding import Encoded, Encoding, Missing
from lit_basics.data.given import as_rows, check_path, first_non_finite_row, precision_dtype
from lit_basics.data.layout import Layout
from lit_basics.data.loader import ShuffleOrder
from lit_basics.data.predict_rows import NewRows
from lit_basics.data.reader import DataFileError, Table
from lit_basics.data.scaling import SCALES, FeatureScaling, Scale
from lit_basics.data.shards import RowShards
from lit_basics.data.training_features import raw_training_features, standardized_training_features
from lit_basics.errors import ArgumentError, LitBasicsWarning
from lit_basics.validation import check_choice, check_positive_int

__all__ = ["AliasedInputsWarning", "InMemoryDataModule", "as_rows", "check_path", "precision_dtype"]


class AliasedInputsWarning(LitBasicsWarning):
    """Inputs left out of the model: each a linear combination of the intercept and the inputs before it."""


class InMemoryDataModule(NewRows):
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
        #: How a row with a missing value is treated (a file-reading subclass sets it).
        self.missing: Missing = "error"
        #: Rows of the data file dropped for a missing value (``missing="drop"``).
        self.dropped_rows = 0
        #: The target's class names in label order (a text target), else ``None``.
        self.classes: tuple[str, ...] | None = None
        # Pass p is always shuffled the same way (see ShuffleOrder).
        self._order = ShuffleOrder(seed)
        self._train_index: torch.Tensor | None = None
        self._val_index: torch.Tensor | None = None
        self._raw_x: torch.Tensor | None = None  # arrays as given (a table is encoded as it is read)
        self._raw_y: torch.Tensor | None = None
        self._input_names: list[str] | None = None  # arrays: every input's name (feature_names: the model's)
        self._aliasing: Aliasing | None = None  # arrays: the inputs left out (a table's: its encoding's)
        self._dtype = self._base_dtype = torch.float32  # as held; as built (before use_dtype)
        self._wide = False  # use_dtype(torch.float64) was called
        self._table: Table | None = None  # the file the rows came from, for errors naming its lines
        self._table_rows: np.ndarray | None = None  # each tensor row's row in that file
        self._encoding: Encoding | None = None  # a table's levels, classes and scaling
        self._reencode: Callable[[Encoding], Encoded] | None = None  # the table read again, encoded so
        self._predict_table: Table | None = None
        self._predict_inputs: dict[int, Any] | None = None  # the new rows' columns as read
        self._predict_kept: np.ndarray | None = None  # which new rows have a prediction
        self._predict_x: torch.Tensor | None = None
        #: With ``shard=True`` under several processes: this process holds a shard of the training
        #: rows, and sums over all of them are the shards' sums added (``None``: it holds them all).
        self.row_shards: RowShards | None = None
        self._layout: Layout | None = None  # shard=True: what the streaming pass learned, until setup

    # --- installing the data --------------------------------------------------------------------
    def _split(self, n: int) -> torch.Tensor | None:
        """Hold out ``val_fraction`` of ``n`` rows (seeded); the training rows' indices, or ``None``
        (every row trains, validation is off)."""
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
            self._train_index = self._val_index = None
            self.val_dataloader = pl.LightningDataModule.val_dataloader.__get__(self)  # type: ignore[method-assign]
        return self._train_index

    def _set_data(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        table: Table | None = None,
        feature_names: list[str] | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Install arrays: ``x`` of shape ``(N, F)`` as given (float32 or float64), scaled by
        :attr:`scale` and rounded once to ``dtype`` (float32; float64 where the model wants more
        precision before its own cast), and ``y`` of shape ``(N, 1)``: float targets, or int64
        class labels ``0..C-1`` for a classifier (then :attr:`num_classes` is ``C``). ``table`` is
        the file the rows came from (row ``i`` is ``table.lines[i]``)."""
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
        if y.ndim != 2 or y.shape[1] != 1:
            raise ValueError(f"y must have one column, got shape {tuple(y.shape)}")
        if not x.is_floating_point() or not (y.is_floating_point() or y.dtype == torch.int64):
            raise ValueError(f"x must be floating point and y floating point or int64, got {x.dtype} and {y.dtype}")
        if feature_names is not None and len(feature_names) != x.shape[1]:
            raise ValueError(f"{len(feature_names)} feature names for {x.shape[1]} features")
        self._raw_x, self._dtype, self._table, self.feature_names = x, dtype, table, feature_names
        self._input_names, self._aliasing = feature_names, None
        self._base_dtype = dtype
        self._raw_y = y
        if y.is_floating_point():
            y = self._rounded("target", y, y.to(torch.float32))
        self.y = y
        train_index = self._split(int(x.shape[0]))
        train_x = x if train_index is None else x.index_select(0, train_index)
        self._install_scaling(FeatureScaling.fit(self.scale, train_x, feature_names))
        self._leave_out_aliased()
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

    def _set_encoded(self, encoded: Encoded, table: Table, reencode: Callable[[Encoding], Encoded]) -> None:
        """Install a table encoded as it was read (:func:`~lit_basics.data.encoding.encode_table`,
        split by :meth:`_split`): ``reencode`` reads it again with other levels and statistics (a
        checkpoint's)."""
        assert encoded.y is not None
        self.x, self.y, self._dtype = encoded.x, encoded.y, encoded.x.dtype
        self._base_dtype = self._dtype
        self._table, self._table_rows, self._reencode = table, encoded.rows, reencode
        self._encoding, self.scaling = encoded.encoding, encoded.encoding.scaling
        self.classes = encoded.encoding.classes
        self.dropped_rows = encoded.dropped
        self._leave_out_aliased()
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

    def _leave_out_aliased(self) -> None:
        """Find the aliased inputs on the training rows (summed over the shards: a collective) once,
        leave them out of :attr:`x` and say so (:class:`AliasedInputsWarning`); an encoding that
        knows them already (a checkpoint's, a shard's) has left them out as it encoded."""
        encoding = self.encoding
        if encoding.aliasing is None:
            x, _ = self.training_rows()
            path = None if self._table is None else self._table.path
            aliasing = aliasing_of_rows(
                x, self.row_shards, names=encoding.input_names, scaling=encoding.scaling, path=path
            )
            self._set_aliasing(aliasing)
            if aliasing.aliased:
                self.x = aliasing.drop(self.x)
                warnings.warn(aliasing.summary(encoding.input_names), AliasedInputsWarning, stacklevel=2)
        self.feature_names = self._model_feature_names()

    def _model_feature_names(self) -> list[str] | None:
        """The names of the model's inputs, where they have names of their own (a header line, or
        names given); ``None``: ``x0, x1, ...``."""
        if self._encoding is not None:
            return self._encoding.model_input_names if self._table is None or self._table.names is not None else None
        return None if self._input_names is None else self.encoding.model_input_names

    def _set_aliasing(self, aliasing: Aliasing | None) -> None:
        if self._encoding is not None:
            self._encoding = dataclasses.replace(self._encoding, aliasing=aliasing)
        else:
            self._aliasing = aliasing

    @property
    def aliasing(self) -> Aliasing:
        """The inputs left out of the model (:mod:`~lit_basics.data.aliasing`; none before the data
        are read)."""
        return self.encoding.aliasing or Aliasing(len(self.encoding.input_names))

    @property
    def dtype(self) -> torch.dtype:
        """The features' dtype (and the real-valued targets'): float32, or float64 after
        :meth:`use_dtype` (a Trainer with ``precision="64-true"`` calls it in ``setup``)."""
        return self._dtype

    def use_dtype(self, dtype: torch.dtype) -> None:
        """``torch.float64``: hold the features and real-valued targets in float64, rounded once
        from the values as read (a table is read again, arrays are scaled again from the arrays
        given; class labels stay int64). ``torch.float32``: the data as the module built them
        (float32; the notes' polynomial keeps its float64 ``x``). ``setup`` calls it with the
        trainer's precision (:func:`precision_dtype`).

        Example:
            >>> from lit_basics.data import ArrayDataModule
            >>> dm = ArrayDataModule(x=[[0.1], [0.2]], y=[0.3, 0.4])
            >>> dm.use_dtype(torch.float64)
            >>> dm.x.dtype, dm.x[0, 0].item(), dm.y[1, 0].item()
            (torch.float64, 0.1, 0.4)
        """
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        wide = dtype == torch.float64
        if wide == self._wide:
            return
        if self._layout is not None and self.row_shards is None:  # shard=True: the rows are read in setup
            self._wide, self._dtype = wide, dtype if wide else self._base_dtype
            return
        self._wide, self._dtype = wide, dtype if wide else self._base_dtype
        target_dtype, device = dtype if wide else torch.float32, self.x.device
        if self._reencode is not None:
            encoded = self._reencode(self.encoding)
            assert encoded.y is not None
            self.x, self.y = encoded.x.to(device), encoded.y.to(device)
        else:
            self._install_scaling(self.scaling)
            if self.y.is_floating_point():
                raw = self._raw_y if self._raw_y is not None else self.y
                self.y = self._rounded("target", raw, raw.to(target_dtype)).to(device)
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

    @property
    def encoding(self) -> Encoding:
        """How the data's columns become the model's inputs (numeric columns, levels, classes, scaling)."""
        if self._encoding is not None:
            return self._encoding
        names = self._input_names
        if names is None:
            count = int(self._raw_x.shape[1]) if self._raw_x is not None else self.num_features
            names = [f"x{i}" for i in range(count)]
        return Encoding(tuple((name, None) for name in names), self.classes, self.scaling, self._aliasing)

    def _install_scaling(self, scaling: FeatureScaling) -> None:
        """Scale the array features (and the predict rows) with ``scaling``, on the device they are
        on; the aliased inputs left out."""
        assert self._raw_x is not None
        device = self.x.device if self.x.numel() else self._raw_x.device
        self.scaling = scaling
        scaled = self._rounded("features", self._raw_x, scaling.apply(self._raw_x, self._dtype))
        self.x = (scaled if self._aliasing is None else self._aliasing.drop(scaled)).to(device)

    def _rounded(self, what: str, raw: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
        """``rounded`` if every value is finite, else an error naming the first value that is not:
        a number the float32 tensors cannot hold (or whose scaling overflowed)."""
        row = first_non_finite_row(rounded)
        if row is None:
            return rounded
        column = int((~torch.isfinite(rounded[row])).nonzero()[0, 0]) if rounded.ndim == 2 else 0
        value = float(raw[row, column]) if raw.ndim == 2 else float(raw[row])
        problem = f"{value:g} cannot be held in float32" + (
            "" if self.scaling.identity else f" once scaled ({self.scale})"
        )
        table = self._table
        if table is not None and what != "x":
            label = "the target column" if what == "target" else f"feature {column + 1}"
            if what == "features" and self._input_names is not None:  # every input: not yet left out
                label = f"feature {column + 1} ({self._input_names[column]!r})"
            raise DataFileError(f"{table.location(row)}: {label}: {problem}")
        argument = "y" if what == "target" else "x"
        raise ArgumentError(argument, f"row {row}, column {column}: {problem}")

    # --- what the data module learned and serves ------------------------------------------------
    @override
    def state_dict(self) -> dict[str, Any]:
        """What was learned from the training rows (scaling, levels, class names) and the feature
        names: saved in every checkpoint."""
        return {
            "scaling": self.scaling.state_dict(),
            "feature_names": self.feature_names,
            "encoding": self.encoding.state_dict(),
        }

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what a checkpoint was trained with (Lightning calls this after ``setup``): the
        rows are encoded again with its levels, classes and scaling when they differ from the
        data's own (a table is read again; arrays are scaled again)."""
        if "scaling" not in state_dict:
            return
        scaling = FeatureScaling.from_state(state_dict["scaling"])
        if "encoding" in state_dict:
            encoding = Encoding.from_state(state_dict["encoding"], scaling)
        else:
            encoding = dataclasses.replace(self.encoding, scaling=scaling)
        if encoding.state_dict() == self.encoding.state_dict() and scaling.state_dict() == self.scaling.state_dict():
            return  # learned from the same rows: nothing changes
        if self._reencode is not None:
            device = self.x.device
            encoded = self._reencode(encoding)
            assert encoded.y is not None
            self.x, self.y = encoded.x.to(device), encoded.y.to(device)
            self._encoding, self.scaling, self.classes = encoding, scaling, encoding.classes
        else:
            self._aliasing = encoding.aliasing
            self._install_scaling(scaling)
        self.feature_names = self._model_feature_names()
        if self.predict_path is not None:
            self._read_predict_rows(self.predict_path)

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
        """Rows used (all processes' together)."""
        return int(self.x.shape[0]) if self._layout is None else int(self._layout.rows.size)

    @property
    def shard_pending(self) -> bool:
        """The rows are to be read in ``setup``, each process its shard (``shard=True``), and are not yet."""
        return self._layout is not None and self.row_shards is None

    def targets_are_binary(self) -> bool:
        """Every target is 0 or 1 (what :class:`~lit_basics.models.LogisticRegression` learns)."""
        if self._layout is not None:
            return self._layout.binary_targets
        return bool(((self.y == 0) | (self.y == 1)).all())

    def column_names(self) -> list[str]:
        """The names of the model's inputs (from a header line), else ``x0, x1, ...``."""
        return list(self.feature_names or [f"x{i}" for i in range(self.num_features)])

    @override
    def setup(self, stage: str) -> None:
        if self.trainer is not None:
            # The precision's dtype: precision="64-true" trains on the file's values rounded once to
            # float64 (not float32 values widened by Lightning's per-batch conversion).
            self.use_dtype(precision_dtype(self.trainer))
            self.move_to(self.trainer.strategy.root_device)

    def raw_training_features(self) -> torch.Tensor:
        """The training rows' features before scaling, on the host
        (:func:`~lit_basics.data.training_features.raw_training_features`)."""
        return raw_training_features(self)

    def standardized_training_features(self) -> torch.Tensor:
        """The training rows' features standardized, on the host
        (:func:`~lit_basics.data.training_features.standardized_training_features`)."""
        return standardized_training_features(self)

    @property
    def num_training_rows(self) -> int:
        """Training rows (all processes' together)."""
        if self._layout is not None:
            index = self._layout.train_index
            return int(self._layout.rows.size) if index is None else int(index.numel())
        return self.num_samples if self._train_index is None else int(self._train_index.numel())

    @property
    def full_batch(self) -> bool:
        """Every training batch is all training rows in a fixed order (see :class:`~lit_basics.data.FullBatch`)."""
        return not self.shuffle and (self.batch_size is None or self.batch_size >= self.num_training_rows)

    def describe(self) -> str:
        """One line saying what the training loop will see (:func:`~lit_basics.data.describe.describe`)."""
        return describe(self)
