"""The notes' three regressions as LightningModules."""

from lit_basics.models.base import GradientDescentModule, StepCounter
from lit_basics.models.linear import LinearRegression
from lit_basics.models.logistic import LogisticRegression
from lit_basics.models.polynomial import PolynomialRegression

__all__ = ["GradientDescentModule", "LinearRegression", "LogisticRegression", "PolynomialRegression", "StepCounter"]
