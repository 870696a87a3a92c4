"""The notes' three regressions, and softmax regression, as LightningModules."""

from lit_basics.models.base import GradientDescentModule
from lit_basics.models.linear import LinearRegression
from lit_basics.models.logistic import LogisticRegression
from lit_basics.models.polynomial import PolynomialRegression
from lit_basics.models.sgd import NotesSGD
from lit_basics.models.softmax import SoftmaxRegression

__all__ = [
    "GradientDescentModule",
    "LinearRegression",
    "LogisticRegression",
    "NotesSGD",
    "PolynomialRegression",
    "SoftmaxRegression",
]
