"""``NotesInspector``: the notes' pictures live in TensorBoard, parameter trajectories, the
distance to the optimum and the hyperparameters with the results they gave.

It runs at a cadence, never on every update: the per-update numbers (``train/loss``,
``train/acc``, ``train/loss_gap``) come from the model's own trace; this callback adds what is
too costly for every step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_warn
from tensorboard.compat.proto.summary_pb2 import Summary
from typing_extensions import override

from lit_basics.data.base import InMemoryDataModule
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression
from lit_basics.models.base import GradientDescentModule, check_positive_int, logging_interval, run_directory
from lit_basics.models.trace import tensorboard_file_writer

if TYPE_CHECKING:
    from lit_basics.plots import FigureWorker

__all__ = ["NotesInspector"]


class NotesInspector(Callback):
    """Figures, trajectories, ``train/loss_gap`` and results-bearing hyperparameters.

    - **Figures** (rank 0 only, drawn by a worker process with matplotlib's Agg canvas): the
      notes' picture for the model (``lit_basics.plots.draw``) at the start of fit, every
      ``figure_every_n_updates`` updates and at the end; logged to TensorBoard as image
      ``figure/<model>`` and written as ``<log_dir>/figures/step_NNNNNN.png``. When the worker
      falls behind the cadence (figures every few updates of a fast run), intermediate figures
      are skipped; the first and the last are always drawn.
    - **Trajectories** every ``log_every_n_steps`` updates: ``params/w0``, ``params/w1``, …,
      ``params/b`` (the parameters after that many updates) and ``params/grad_norm`` (the norm of
      the gradient computed at those parameters, logged at the same step as their loss).
    - **Loss gap**: the optimal training loss (``model.optimum``: least squares or Newton, float64)
      is computed once at the start; the model then logs ``train/loss_gap = train/loss - optimum``
      for every update. Full-batch training only (a mini-batch loss is not comparable).
    - **Hyperparameters** with results at the end: ``hp/final_loss``, ``hp/final_loss_gap`` and
      (logistic) ``hp/final_acc``, computed on the whole training set after the last update.

    Args:
        figure_every_n_updates: cadence of figures (>= 1).
        figures: draw figures at all.
        trajectories: log the parameter trajectories.
        loss_gap: compute the optimum and log the loss gap.
    """

    def __init__(
        self,
        figure_every_n_updates: int = 100,
        figures: bool = True,
        trajectories: bool = True,
        loss_gap: bool = True,
    ) -> None:
        self.figure_every_n_updates = check_positive_int("figure_every_n_updates", figure_every_n_updates)
        self.figures = figures
        self.trajectories = trajectories
        self.loss_gap = loss_gap
        self._last_figure_step: int | None = None
        self._last_trajectory_step: int | None = None
        self._data: tuple[torch.Tensor, torch.Tensor] | None = None
        self._worker: FigureWorker | None = None
        self._full_batch = False

    # --- the data the pictures and the optimum are about ----------------------------------
    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if not isinstance(pl_module, GradientDescentModule) or not isinstance(datamodule, InMemoryDataModule):
            return
        self._data = datamodule.training_rows()
        self._full_batch = datamodule.batch_size is None or datamodule.batch_size >= self._data[0].shape[0]
        self._last_figure_step = None
        if self.loss_gap and self._full_batch:
            x, y = self._data
            try:
                pl_module.optimal_loss = pl_module.optimum(x, y).loss
            except ValueError as exc:  # e.g. separable classes: no finite optimum
                pl_module.optimal_loss = None
                rank_zero_warn(f"train/loss_gap not logged: {exc}")

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._figure(trainer, pl_module)

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if self.trajectories and step % logging_interval(trainer) == 0:
            self._trajectories(trainer, pl_module)
        if step % self.figure_every_n_updates == 0:
            self._figure(trainer, pl_module)

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.trajectories and self._last_trajectory_step != trainer.global_step:
            self._trajectories(trainer, pl_module)  # the final parameters, off the cadence
        self._figure(trainer, pl_module, final=True)
        self._close_worker(trainer, pl_module)
        self._hyperparameters_with_results(trainer, pl_module)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The optimum belonged to this fit's data (the model's final flush, in its own
        # on_train_end, has used it by now): do not let it leak into a later fit.
        if isinstance(pl_module, GradientDescentModule):
            pl_module.optimal_loss = None

    # --- the three outputs -----------------------------------------------------------------
    def _trajectories(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        self._last_trajectory_step = step
        if not trainer.is_global_zero or not isinstance(pl_module, GradientDescentModule):
            return
        metrics = {f"params/w{i}": v for i, v in enumerate(pl_module.w.detach().flatten().tolist())}
        metrics["params/b"] = float(pl_module.b.detach()[0])
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        grads = [p.grad for p in (pl_module.w, pl_module.b) if p.grad is not None]
        if grads:
            norm = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
            for logger in trainer.loggers:
                logger.log_metrics({"params/grad_norm": norm}, step=step - 1)

    def _figure(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *, final: bool = False) -> None:
        step = trainer.global_step
        if not self.figures or self._data is None or not trainer.is_global_zero or self._last_figure_step == step:
            return
        if self._worker is not None and not final:
            self._write_images(trainer, pl_module, self._worker.finished())
            if self._worker.busy:
                return  # the worker is behind this cadence: skip this figure rather than queue it
        log_dir = run_directory(trainer)
        if log_dir is None or not isinstance(pl_module, GradientDescentModule):
            return
        self._last_figure_step = step
        directory = Path(log_dir) / "figures"
        directory.mkdir(parents=True, exist_ok=True)
        if self._worker is None:
            from lit_basics.plots import FigureWorker  # numpy only here; matplotlib lives in the worker

            self._worker = FigureWorker()
        self._worker.submit(
            {
                "kind": _figure_kind(pl_module, self._data[0].shape[1]),
                "data": _figure_data(pl_module, *self._data),
                "title": f"{type(pl_module).__name__}, after {step} update(s)",
                "path": str(directory / f"step_{step:06d}.png"),
                "step": step,
            }
        )
        self._write_images(trainer, pl_module, self._worker.finished())

    def _write_images(self, trainer: pl.Trainer, pl_module: pl.LightningModule, done: list[dict[str, Any]]) -> None:
        """Figures the worker finished: their PNG bytes go into TensorBoard as they are."""
        tag = f"figure/{type(pl_module).__name__}"
        for result in done:
            if "error" in result:
                rank_zero_warn(f"figure at step {result['step']} not drawn: {result['error']}")
                continue
            png = Path(result["path"]).read_bytes()
            for logger in trainer.loggers:
                file_writer = tensorboard_file_writer(logger)
                if file_writer is None:
                    continue
                image = Summary.Image(
                    height=result["height"], width=result["width"], colorspace=4, encoded_image_string=png
                )
                file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), result["step"])

    def _close_worker(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._worker is not None:
            done = self._worker.close()
            self._worker = None
            self._write_images(trainer, pl_module, done)

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._close_worker(trainer, pl_module)  # also after an exception: never leave the worker behind

    def _hyperparameters_with_results(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._data is None or not isinstance(pl_module, GradientDescentModule):
            return
        x, y = self._data
        with torch.no_grad():
            output = pl_module(x.to(pl_module.device))
            target = y.to(pl_module.device)
            values = pl_module._train_metrics(output, target, pl_module.loss(output, target))
        n = target.shape[0]
        results = {
            f"hp/final_{name}": float(value) / (n if reduction == "sum" else 1)
            for name, value, reduction in zip(
                pl_module.train_metric_names, values, pl_module.train_metric_reductions, strict=True
            )
        }
        if pl_module.optimal_loss is not None:
            results["hp/final_loss_gap"] = results["hp/final_loss"] - pl_module.optimal_loss
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                # The hparams dashboard pairs these hyperparameters with these result metrics.
                logger.log_hyperparams(dict(pl_module.hparams), metrics=results)
            else:
                logger.log_metrics(results, step=trainer.global_step)


def _figure_kind(model: GradientDescentModule, num_features: int) -> str:
    if isinstance(model, LogisticRegression) and num_features == 2:
        return "logistic"
    if isinstance(model, PolynomialRegression):
        return "polynomial"
    if isinstance(model, LinearRegression) and num_features == 1:
        return "linear"
    return "generic"


def _figure_data(model: GradientDescentModule, x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """What the worker needs, as numpy on the host: at most ``MAX_POINTS`` evenly strided rows."""
    from lit_basics.plots import MAX_POINTS

    stride = max(1, -(-x.shape[0] // MAX_POINTS))
    x, y = x[::stride], y[::stride]
    with torch.no_grad():
        output = model(x.to(model.device))

    def host(t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).numpy()

    return {
        "x": host(x),
        "y": host(y).ravel(),
        "output": host(output).ravel(),
        "w": host(model.w).ravel(),
        "b": host(model.b).ravel(),
    }
