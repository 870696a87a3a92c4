"""LightningDataModules for the notes' data sets and for your own arrays."""

from lit_basics.data.array import ArrayDataModule
from lit_basics.data.base import InMemoryDataModule
from lit_basics.data.loader import ResidentBatches
from lit_basics.data.notes_data import (
    LinearDataModule,
    LogisticDataModule,
    PolynomialDataModule,
    default_logistic_path,
    load_logistic,
)
from lit_basics.data.parse import DataFileError, parse_csv

__all__ = [
    "ArrayDataModule",
    "DataFileError",
    "InMemoryDataModule",
    "LinearDataModule",
    "LogisticDataModule",
    "PolynomialDataModule",
    "ResidentBatches",
    "default_logistic_path",
    "load_logistic",
    "parse_csv",
]
