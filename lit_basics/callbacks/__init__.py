"""Callbacks that watch training: the configs attach them; a model trains without any of them.

- :class:`UpdateLog`: every update's ``train/loss`` (``acc``, ``loss_gap``) in TensorBoard, in bulk.
- :class:`DivergenceStop`: stop at the first non-finite loss, before any checkpoint.
- :class:`NotesInspector`: figures, loss contours, trajectories, hyperparameters with results.
- :class:`PredictionsCSV`: ``predictions.csv`` from ``lit-basics predict``.
- :class:`CoefficientsCSV`: ``coefficients.csv`` (estimates, standard errors, ...) after every fit.
- :class:`AutomaticStep`: ``lr="auto"`` / ``momentum="auto"`` become numbers when a fit sets up.
"""

from lit_basics.callbacks.automatic_step import AutomaticStep
from lit_basics.callbacks.coefficients import CoefficientsCSV
from lit_basics.callbacks.divergence import DivergenceStop
from lit_basics.callbacks.inspector import NotesInspector
from lit_basics.callbacks.predictions import PredictionsCSV
from lit_basics.callbacks.update_log import UpdateLog

__all__ = ["AutomaticStep", "CoefficientsCSV", "DivergenceStop", "NotesInspector", "PredictionsCSV", "UpdateLog"]
