"""LightningDataModules for the notes' data sets, the iris table and your own arrays or tables."""

from lit_basics.data.array import ArrayDataModule
from lit_basics.data.base import InMemoryDataModule
from lit_basics.data.encoding import Encoding, encode_table
from lit_basics.data.loader import FullBatch, ResidentBatches
from lit_basics.data.notes_data import (
    IrisDataModule,
    LinearDataModule,
    LogisticDataModule,
    PolynomialDataModule,
    default_iris_path,
    default_logistic_path,
    load_iris,
    load_logistic,
)
from lit_basics.data.reader import DataFileError, Table, parse_csv, read_header, read_table
from lit_basics.data.scaling import FeatureScaling

__all__ = [
    "ArrayDataModule",
    "DataFileError",
    "Encoding",
    "FeatureScaling",
    "FullBatch",
    "InMemoryDataModule",
    "IrisDataModule",
    "LinearDataModule",
    "LogisticDataModule",
    "PolynomialDataModule",
    "ResidentBatches",
    "Table",
    "default_iris_path",
    "default_logistic_path",
    "encode_table",
    "load_iris",
    "load_logistic",
    "parse_csv",
    "read_header",
    "read_table",
]
