"""The notes' three data sets, each exactly as the notes build it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lit_basics.data.base import InMemoryDataModule
from lit_basics.data.reader import DataFileError, Table, read_table
from lit_basics.data.scaling import FeatureScaling, Scale
from lit_basics.errors import ArgumentError
from lit_basics.validation import check_nonnegative_float

__all__ = [
    "LINEAR_X",
    "LINEAR_Y",
    "POLYNOMIAL_B",
    "POLYNOMIAL_W",
    "IrisDataModule",
    "LinearDataModule",
    "LogisticDataModule",
    "PolynomialDataModule",
    "default_iris_path",
    "default_logistic_path",
    "load_iris",
    "load_logistic",
    "polynomial_samples",
    "read_iris",
    "read_logistic",
]

# The notes' 15 points (线性模型和梯度下降), float32 as the notes declare them.
LINEAR_X = [3.3, 4.4, 5.5, 6.71, 6.93, 4.168, 9.779, 6.182, 7.59, 2.167, 7.042, 10.791, 5.313, 7.997, 3.1]
LINEAR_Y = [1.7, 2.76, 2.09, 3.19, 1.694, 1.573, 3.366, 2.596, 2.53, 1.221, 2.827, 3.465, 1.65, 2.904, 1.3]

# The notes' cubic: y = 0.9 + 0.5 x + 3 x^2 + 2.4 x^3.
POLYNOMIAL_W = (0.5, 3.0, 2.4)
POLYNOMIAL_B = 0.9


class LinearDataModule(InMemoryDataModule):
    """The notes' 15 ``(x, y)`` points for linear regression: ``x`` of shape (15, 1), ``y`` (15, 1).

    Example:
        >>> dm = LinearDataModule()
        >>> dm.x.shape, dm.y.shape, dm.x[0, 0].item()
        (torch.Size([15, 1]), torch.Size([15, 1]), 3.299999952316284)
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
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
            scale=scale,
            predict_path=predict_path,
        )
        x = torch.from_numpy(np.array(LINEAR_X, dtype=np.float32).reshape(-1, 1))
        y = torch.from_numpy(np.array(LINEAR_Y, dtype=np.float32).reshape(-1, 1))
        self._set_data(x, y)


def polynomial_samples(noise_std: float = 0.0, seed: int = 2017) -> tuple[np.ndarray, np.ndarray]:
    """The notes' cubic sampled on ``np.arange(-3, 3.1, 0.1)`` (61 points), in float64.

    Noise, when asked for, is drawn from a private generator seeded by ``seed`` (never the global RNG).
    """
    x = np.arange(-3, 3.1, 0.1)
    # Same expression, same order of operations as the notes.
    y = POLYNOMIAL_B + POLYNOMIAL_W[0] * x + POLYNOMIAL_W[1] * x**2 + POLYNOMIAL_W[2] * x**3
    if noise_std > 0:
        y = y + np.random.default_rng(seed).normal(0.0, noise_std, size=y.shape)
    return x, y


class PolynomialDataModule(InMemoryDataModule):
    """The notes' cubic ``y = 0.9 + 0.5x + 3x^2 + 2.4x^3`` at ``x = -3.0, -2.9, ..., 3.0``.

    ``x`` is raw (shape (61, 1), float64): the model builds the powers in float64 and casts them to
    float32; ``y`` is computed in float64, then cast to float32; both as the notes do.

    Args:
        noise_std: standard deviation of Gaussian noise added to ``y`` (0: the notes' exact curve).
        seed: seed of the noise, the split and the shuffle. Other arguments (``scale`` of ``x``
            before the powers are taken, default ``"none"``): see :class:`~lit_basics.data.InMemoryDataModule`.

    Example:
        >>> dm = PolynomialDataModule()
        >>> dm.x.shape, dm.x.dtype, round(dm.y[0, 0].item(), 4)
        (torch.Size([61, 1]), torch.float64, -38.4)
    """

    def __init__(
        self,
        noise_std: float = 0.0,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "none",
        predict_path: str | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
            scale=scale,
            predict_path=predict_path,
        )
        self.noise_std = check_nonnegative_float("noise_std", noise_std)
        x, y = polynomial_samples(self.noise_std, seed)
        # x stays float64: PolynomialRegression raises it to powers in float64 and rounds once, as
        # the notes do. y is float32, as the notes' y_train.
        self._set_data(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y).float().unsqueeze(1), dtype=torch.float64)


def class_labels(table: Table, column: np.ndarray, num_classes: int) -> np.ndarray:
    """``column`` (a target column of ``table``) as int64 class labels ``0..num_classes-1``.

    Raises:
        DataFileError: ``path:line:`` of the first value that is not such a label.
    """
    bad = np.flatnonzero((column != np.round(column)) | (column < 0) | (column >= num_classes))
    if bad.size:
        raise DataFileError(
            f"{table.location(int(bad[0]))}: class label must be an integer in 0..{num_classes - 1}, "
            f"got {column[bad[0]]:g}"
        )
    return column.astype(np.int64)


def _shipped(name: str) -> Path:
    """A file of ``data/``: inside the installed package, or ``data/`` of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here.parent / "_data" / name  # the wheel puts it here (pyproject force-include)
    return installed if installed.is_file() else here.parents[1] / "data" / name


def default_logistic_path() -> Path:
    """``data.txt``: inside the installed package, or ``data/`` of a source checkout."""
    return _shipped("data.txt")


def read_logistic(path: str | Path | None = None) -> tuple[Table, np.ndarray, np.ndarray]:
    """Read ``score1,score2,label`` rows (any number of feature columns, the 0/1 label last).

    Returns:
        ``(table, x, y)``: the table read, float64 features ``(N, F)`` as written, labels ``(N, 1)``.

    Raises:
        DataFileError: any malformed line (see :func:`~lit_basics.data.reader.read_table`), fewer
            than 2 columns, or a label other than 0 or 1.
    """
    path = Path(path) if path is not None else default_logistic_path()
    table = read_table(path)
    if table.num_columns < 2:
        raise DataFileError(f"{path}: expected at least one feature and a label per line, found 1 column")
    labels = table.values[:, -1]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise DataFileError(f"{table.location(int(bad[0]))}: label must be 0 or 1, got {labels[bad[0]]:g}")
    return table, table.values[:, :-1], labels.reshape(-1, 1)


def load_logistic(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``score1,score2,label`` rows; divide each feature by its column maximum, as the notes do.

    Returns:
        ``(x, y)``: float64 arrays of shapes ``(N, F)`` and ``(N, 1)``; features scaled, labels 0/1.

    Raises:
        DataFileError: as :func:`read_logistic`, or a feature column whose maximum is not positive.
    """
    table, x, y = read_logistic(path)
    try:
        scaling = FeatureScaling.fit("max", torch.from_numpy(x), list(table.names[:-1]) if table.names else None)
    except ArgumentError as exc:
        raise DataFileError(f"{table.path}: {exc.problem}") from None
    return (torch.from_numpy(x) / scaling.divisor).numpy(), y


class LogisticDataModule(InMemoryDataModule):
    """The notes' exam-score data (``data.txt``: 100 rows ``score1,score2,label``), scaled per column.

    Args:
        path: a file of the same format (any number of feature columns, label last; a header
            line is allowed); ``None`` is the shipped ``data.txt``.
        scale: ``"max"`` (default): each score divided by its maximum over the training rows, as
            the notes do; or ``"standardize"``, ``"none"``. Other arguments: see
            :class:`~lit_basics.data.InMemoryDataModule`.

    Example:
        >>> dm = LogisticDataModule()
        >>> dm.x.shape, dm.y.shape, float(dm.x.max())
        (torch.Size([100, 2]), torch.Size([100, 1]), 1.0)
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "max",
        predict_path: str | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
            scale=scale,
            predict_path=predict_path,
        )
        self.path = str(path if path is not None else default_logistic_path())
        table, x, y = read_logistic(self.path)
        # Divided by the maxima in float64, then float32 (scale="max", the default): the notes'
        # np.array(data, dtype='float32') of the scores divided by their maxima.
        names = list(table.names[:-1]) if table.names else None
        self._set_data(torch.from_numpy(x), torch.from_numpy(y), table=table, feature_names=names)


def default_iris_path() -> Path:
    """``iris.csv``: inside the installed package, or ``data/`` of a source checkout."""
    return _shipped("iris.csv")


def load_iris(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read the iris table: four measurements in cm, then the class label 0, 1 or 2.

    Returns:
        ``(x, y)``: float64 ``(150, 4)`` and int64 ``(150, 1)`` for the shipped file.

    Raises:
        DataFileError: a malformed line, or a label other than 0, 1, 2 (naming the line).
    """
    table = read_iris(path)
    return table.values[:, :4], class_labels(table, table.values[:, 4], 3).reshape(-1, 1)


def read_iris(path: str | Path | None = None) -> Table:
    """The iris table as read (see :func:`load_iris`)."""
    return read_table(Path(path) if path is not None else default_iris_path(), expected_fields=5)


class IrisDataModule(InMemoryDataModule):
    """Fisher's iris data (1936, public domain; the R and scikit-learn copy): 150 flowers, 50 of each
    of 3 species, 4 features in cm (sepal length, sepal width, petal length, petal width).

    ``x`` is ``(150, 4)`` float32 as measured (no scaling), ``y`` ``(150, 1)`` int64 labels 0
    (setosa), 1 (versicolor), 2 (virginica). Setosa is linearly separable from the other two.

    Args:
        path: a file of the same format (4 features then the label per line); ``None`` is the
            shipped ``iris.csv``.

    Example:
        >>> dm = IrisDataModule()
        >>> dm.x.shape, dm.y.shape, dm.num_classes, dm.y.flatten().bincount().tolist()
        (torch.Size([150, 4]), torch.Size([150, 1]), 3, [50, 50, 50])
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        val_fraction: float = 0.0,
        seed: int = 2017,
        passes_per_epoch: int = 1,
        scale: Scale = "none",
        predict_path: str | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            shuffle=shuffle,
            val_fraction=val_fraction,
            seed=seed,
            passes_per_epoch=passes_per_epoch,
            scale=scale,
            predict_path=predict_path,
        )
        self.path = str(path if path is not None else default_iris_path())
        table = read_iris(self.path)
        x, y = table.values[:, :4], class_labels(table, table.values[:, 4], 3).reshape(-1, 1)
        names = list(table.names[:4]) if table.names else None
        self._set_data(torch.from_numpy(x), torch.from_numpy(y), table=table, feature_names=names)

    @property
    def num_classes(self) -> int:
        return 3
