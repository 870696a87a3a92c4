"""``NotesInspector``: the notes' pictures in TensorBoard, parameter trajectories, the loss
contours with the gradient-descent path, and the hyperparameters with the results they gave."""

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

from lit_basics.callbacks.run_info import logging_interval, run_directory, training_data
from lit_basics.callbacks.trace import tensorboard_file_writer
from lit_basics.coefficients import data_fit_answer
from lit_basics.data.shards import row_shards
from lit_basics.diagnostics import Diagnosis, ScalingAdvice, diagnose_fit, scaling_advice
from lit_basics.errors import ArgumentError
from lit_basics.models import LinearRegression, LogisticRegression, PolynomialRegression, SoftmaxRegression
from lit_basics.models.base import GradientDescentModule
from lit_basics.validation import check_positive_int

if TYPE_CHECKING:
    from lit_basics.plots import FigureWorker

__all__ = ["NotesInspector"]

#: Points of the gradient-descent path kept for the contour figure (every update up to this many;
#: beyond, every second, fourth, ... update).
MAX_PATH_POINTS = 2000
#: Grid points per axis of the contour and decision-region figures.
GRID = 80


class NotesInspector(Callback):
    """Figures, trajectories and results-bearing hyperparameters, at a cadence (never costly per update).

    - **Figures** (rank 0 only, drawn by a worker process with matplotlib's Agg canvas): the
      notes' picture for the model (``lit_basics.plots.draw``; decision regions in two features for
      softmax regression) after 0 updates, every ``figure_every_n_updates`` updates and at the end;
      logged to TensorBoard as image ``figure/<model>`` and written as
      ``<log_dir>/figures/step_NNNNNN.png``. Only if the worker falls far behind the cadence
      (:data:`~lit_basics.plots.MAX_BACKLOG` figures waiting) is a figure skipped; the first and
      the last are always drawn.
    - **Loss contours** (full-batch fits of a model with two parameters, ``w`` and ``b``: the
      notes' linear regression): the training objective over ``(w, b)`` with the path gradient
      descent took and the exact optimum, at the end: ``figure/loss_contours`` and
      ``<log_dir>/figures/loss_contours.png``.
    - **Trajectories** every ``log_every_n_steps`` updates: ``params/w0``, ``params/w1``, …,
      ``params/b`` (the parameters after that many updates) and ``params/grad_norm`` (the norm of
      the gradient at those parameters), and the final parameters at the end.
    - **Hyperparameters** with results at the end: ``hp/final_loss`` (the training objective on the
      whole training set after the last update), ``hp/final_acc`` (classifiers),
      ``hp/final_loss_gap``, and what :mod:`lit_basics.diagnostics` says of the problem:
      ``hp/condition_number``, ``hp/max_stable_lr``, ``hp/predicted_updates`` (to a gap of 1e-3);
      where standardising the features would help (:func:`~lit_basics.diagnostics.scaling_advice`),
      ``hp/standardized_condition_number``, ``hp/standardized_max_stable_lr`` and
      ``hp/standardized_predicted_updates`` (at lr = 1/λmax of that problem); ``hp/dropped_rows``,
      the rows a data module dropped for a missing value (``missing="drop"``), when there were any;
      and the fit's statistics (``glance.csv``'s: ``hp/r_squared``, ``hp/aic``, ...;
      :meth:`~lit_basics.models.GradientDescentModule.glance`).

    Parameters are read in ``on_before_optimizer_step``: the manual twin takes many updates in one
    Lightning step, and this hook still sees every one of them (after ``global_step`` updates, with
    the gradient at those parameters).

    Args:
        figure_every_n_updates: cadence of figures (>= 1).
        figures: draw figures at all.
        trajectories: log the parameter trajectories.
        loss_gap: put the loss gap and the diagnosis (full-batch fits) into the hyperparameters.
        contours: draw the loss contours (two-parameter models, full batch).
        figure_features: the two features of softmax regression's decision-region figure
            (default: the two whose optimal weights differ most between classes).
    """

    def __init__(
        self,
        figure_every_n_updates: int = 100,
        figures: bool = True,
        trajectories: bool = True,
        loss_gap: bool = True,
        contours: bool = True,
        figure_features: list[int] | None = None,
    ) -> None:
        self.figure_every_n_updates = check_positive_int("figure_every_n_updates", figure_every_n_updates)
        if figure_features is not None and (
            len(figure_features) != 2
            or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in figure_features)
        ):
            raise ArgumentError("figure_features", f"must be two feature indices >= 0, got {figure_features!r}")
        self.figures = bool(figures)
        self.trajectories = bool(trajectories)
        self.loss_gap = bool(loss_gap)
        self.contours = bool(contours)
        self.figure_features = figure_features
        self._data: tuple[torch.Tensor, torch.Tensor] | None = None
        self._diagnosis: Diagnosis | None = None
        self._advice: ScalingAdvice | None = None
        self._worker: FigureWorker | None = None
        self._last_figure_step: int | None = None
        self._last_trajectory_step: int | None = None
        self._path: list[torch.Tensor] = []
        self._path_stride = 1
        self._contour_path = False
        self._trajectory_every = 1

    def check_features(self, num_features: int) -> None:
        """``figure_features`` name features the data has.

        Raises:
            ArgumentError: naming ``figure_features`` and the data's number of features.
        """
        if self.figure_features is not None and max(self.figure_features) >= num_features:
            raise ArgumentError(
                "figure_features",
                f"must be feature indices below the data's {num_features} features, got {self.figure_features!r}",
            )

    # --- the data the pictures are about ---------------------------------------------------
    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        datamodule = training_data(trainer)
        if datamodule is not None:
            self.check_features(datamodule.num_features)
        self._data, self._diagnosis, self._advice = None, None, None
        self._last_figure_step = self._last_trajectory_step = None
        self._path, self._path_stride = [], 1
        self._trajectory_every = logging_interval(trainer)
        if not isinstance(pl_module, GradientDescentModule) or datamodule is None:
            return
        x, y = datamodule.training_rows()
        self._data = (x.to(pl_module.device), y.to(pl_module.device))
        if datamodule.full_batch:
            self._diagnosis, _ = diagnose_fit(trainer, pl_module, datamodule)
            # From the starting parameters, as the diagnosis (shared with the CLI's fit-start line).
            self._advice = scaling_advice(trainer, pl_module, datamodule) if self.loss_gap else None
        self._contour_path = self.contours and self._diagnosis is not None and _parameter_count(pl_module) == 2

    @override
    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        # Called before every update, also inside the manual twin's loop: global_step updates are done.
        if not isinstance(pl_module, GradientDescentModule) or self._data is None:
            return
        step = trainer.global_step
        if self.trajectories and step % self._trajectory_every == 0:
            self._log_trajectory(trainer, pl_module, gradient=True)
        if step % self.figure_every_n_updates == 0:
            self._figure(trainer, pl_module)
        if self._contour_path:
            self._record_path(pl_module, step)

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, GradientDescentModule) or self._data is None:
            return
        if self.trajectories and self._last_trajectory_step != trainer.global_step:
            self._log_trajectory(trainer, pl_module, gradient=False)  # the final parameters
        self._figure(trainer, pl_module, final=True)
        if self._contour_path:
            self._path.append(_flat_parameters(pl_module))
            self._contour_figure(trainer, pl_module)
        self._close_worker(trainer, pl_module)
        self._hyperparameters_with_results(trainer, pl_module)

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._close_worker(trainer, pl_module)  # also after an exception: never leave the worker behind

    # --- trajectories ----------------------------------------------------------------------
    def _log_trajectory(self, trainer: pl.Trainer, pl_module: GradientDescentModule, *, gradient: bool) -> None:
        step = trainer.global_step
        self._last_trajectory_step = step
        if not trainer.is_global_zero:
            return
        metrics = {f"params/w{i}": v for i, v in enumerate(pl_module.w.detach().flatten().tolist())}
        biases = pl_module.b.detach().flatten().tolist()
        metrics.update(
            {"params/b": biases[0]} if len(biases) == 1 else {f"params/b{i}": v for i, v in enumerate(biases)}
        )
        grads = [p.grad for p in (pl_module.w, pl_module.b) if p.grad is not None]
        if gradient and grads:
            metrics["params/grad_norm"] = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)

    # --- the path for the contours -----------------------------------------------------------
    def _record_path(self, pl_module: GradientDescentModule, step: int) -> None:
        if step % self._path_stride:
            return
        self._path.append(_flat_parameters(pl_module))
        if len(self._path) > MAX_PATH_POINTS:  # keep every second point, and record half as often
            self._path = self._path[::2]
            self._path_stride *= 2

    def _contour_figure(self, trainer: pl.Trainer, pl_module: GradientDescentModule) -> None:
        log_dir = run_directory(trainer)
        if not self.figures or self._diagnosis is None or self._data is None or log_dir is None:
            return
        if not trainer.is_global_zero:
            return
        path = torch.stack(self._path).to("cpu", torch.float64)
        best = torch.cat([self._diagnosis.optimum.w.reshape(-1), self._diagnosis.optimum.b.reshape(-1)]).cpu()
        points = torch.cat([path, best.unsqueeze(0)])
        low, high = points.min(dim=0).values, points.max(dim=0).values
        margin = 0.15 * (high - low).clamp_min(1e-3)
        grid_w = torch.linspace(float(low[0] - margin[0]), float(high[0] + margin[0]), GRID, dtype=torch.float64)
        grid_b = torch.linspace(float(low[1] - margin[1]), float(high[1] + margin[1]), GRID, dtype=torch.float64)
        ww, bb = torch.meshgrid(grid_w, grid_b, indexing="xy")
        objective = pl_module.reference_objective(*_strided(*self._data, 20_000))
        loss = objective.values(torch.stack([ww.reshape(-1), bb.reshape(-1)], dim=1)).reshape(GRID, GRID)
        data = {
            "grid_w": grid_w.numpy(),
            "grid_b": grid_b.numpy(),
            "loss": loss.numpy(),
            "path": path.numpy(),
            "optimum": best.numpy(),
        }
        title = f"{type(pl_module).__name__}: loss over (w, b), lr={pl_module.lr:g}"
        self._submit(trainer, "contours", data, title, Path(log_dir) / "figures" / "loss_contours.png", "loss_contours")

    # --- figures ---------------------------------------------------------------------------
    def _figure(self, trainer: pl.Trainer, pl_module: GradientDescentModule, *, final: bool = False) -> None:
        step = trainer.global_step
        if not self.figures or self._data is None or not trainer.is_global_zero or self._last_figure_step == step:
            return
        if self._worker is not None and not final:
            self._write_images(trainer, self._worker.finished())
            if self._worker.busy:
                return  # the worker is far behind this cadence: skip this figure rather than queue it
        log_dir = run_directory(trainer)
        if log_dir is None:
            return
        self._last_figure_step = step
        kind, data = self._figure_data(pl_module)
        title = f"{type(pl_module).__name__}, after {step} update(s)"
        self._submit(
            trainer, kind, data, title, Path(log_dir) / "figures" / f"step_{step:06d}.png", type(pl_module).__name__
        )

    def _submit(self, trainer: pl.Trainer, kind: str, data: dict[str, Any], title: str, path: Path, tag: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._worker is None:
            from lit_basics.plots import FigureWorker  # numpy only here; matplotlib lives in the worker

            self._worker = FigureWorker()
        job = {"kind": kind, "data": data, "title": title, "path": str(path), "step": trainer.global_step, "tag": tag}
        self._worker.submit(job)
        self._write_images(trainer, self._worker.finished())

    def _figure_data(self, pl_module: GradientDescentModule) -> tuple[str, dict[str, Any]]:
        """The figure's kind and what the worker needs, as numpy on the host."""
        from lit_basics.plots import MAX_POINTS

        assert self._data is not None
        x, y = _strided(*self._data, MAX_POINTS)
        with torch.no_grad():
            output = pl_module(x)
        data = {"x": _host(x), "y": _host(y).ravel(), "w": _host(pl_module.w).ravel(), "b": _host(pl_module.b).ravel()}
        features = x.shape[1]
        if isinstance(pl_module, SoftmaxRegression):
            if features >= 2:
                return "softmax", {**data, **self._regions(pl_module, x)}
            return "generic", {**data, "output": _host(output.argmax(dim=1))}
        data["output"] = _host(output).ravel()
        if isinstance(pl_module, LogisticRegression) and features == 2:
            return "logistic", data
        if isinstance(pl_module, PolynomialRegression):
            return "polynomial", data
        if isinstance(pl_module, LinearRegression) and features == 1:
            return "linear", data
        return "generic", data

    def _regions(self, pl_module: SoftmaxRegression, x: torch.Tensor) -> dict[str, Any]:
        """The predicted class over a grid of two features, the other features at their means."""
        i, j = self.figure_features or self._chosen_features(pl_module)
        grid_x = torch.linspace(float(x[:, i].min()), float(x[:, i].max()), GRID, device=x.device)
        grid_y = torch.linspace(float(x[:, j].min()), float(x[:, j].max()), GRID, device=x.device)
        gx, gy = torch.meshgrid(grid_x, grid_y, indexing="xy")
        points = x.mean(dim=0).repeat(GRID * GRID, 1)
        points[:, i], points[:, j] = gx.reshape(-1), gy.reshape(-1)
        with torch.no_grad():
            regions = pl_module(points).argmax(dim=1).reshape(GRID, GRID)
        return {
            "features": np.array([i, j]),
            "num_classes": np.array(pl_module.num_classes),
            "grid_x": _host(grid_x),
            "grid_y": _host(grid_y),
            "regions": _host(regions),
        }

    def _chosen_features(self, pl_module: SoftmaxRegression) -> tuple[int, int]:
        """The two features whose (optimal, else current) weights differ most between classes,
        scaled by the feature's spread."""
        assert self._data is not None
        w = self._diagnosis.optimum.w if self._diagnosis is not None else pl_module.w.detach().double().cpu()
        spread = self._data[0].double().std(dim=0).cpu()
        importance = (w - w.mean(dim=1, keepdim=True)).norm(dim=1) * spread
        first, second = importance.topk(2).indices.sort().values.tolist()
        return first, second

    def _write_images(self, trainer: pl.Trainer, done: list[dict[str, Any]]) -> None:
        """Figures the worker finished: their PNG bytes go into TensorBoard as they are."""
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
                value = Summary.Value(tag=f"figure/{result['tag']}", image=image)
                file_writer.add_summary(Summary(value=[value]), result["step"])

    def _close_worker(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._worker is not None:
            done = self._worker.close()
            self._worker = None
            self._write_images(trainer, done)

    # --- hyperparameters with results -------------------------------------------------------
    def _hyperparameters_with_results(self, trainer: pl.Trainer, pl_module: GradientDescentModule) -> None:
        assert self._data is not None
        x, y = self._data
        with torch.no_grad():
            output = pl_module(x)
            values = pl_module.update_metrics(output, y, pl_module.objective(output, y))
        kinds = pl_module.update_metric_kinds
        n = y.shape[0]
        shards = row_shards(getattr(trainer, "datamodule", None))
        if shards is not None:  # this process's rows: counts and row-weighted means, summed over the shards
            local = torch.tensor(
                [float(values[name]) * (1 if kind == "count" else n) for name, kind in kinds.items()],
                dtype=torch.float64,
            )
            totals = (shards.sum(local) / shards.total_rows).tolist()
            results = {f"hp/final_{name}": total for name, total in zip(kinds, totals, strict=True)}
        else:
            results = {
                f"hp/final_{name}": float(values[name]) / (n if kind == "count" else 1) for name, kind in kinds.items()
            }
        diagnosis = self._diagnosis
        if self.loss_gap and diagnosis is not None:
            predicted = diagnosis.updates_to_gap(1e-3)
            results["hp/final_loss_gap"] = results["hp/final_loss"] - diagnosis.optimum.loss
            results["hp/condition_number"] = diagnosis.condition_number
            results["hp/max_stable_lr"] = diagnosis.max_stable_lr
            results["hp/predicted_updates"] = float("inf") if predicted is None else float(predicted)
        advice = self._advice
        if self.loss_gap and advice is not None:
            after = advice.after.updates_to_gap(1e-3)
            prefix = advice.metric_prefix
            results[f"hp/{prefix}_condition_number"] = advice.after.condition_number
            results[f"hp/{prefix}_max_stable_lr"] = advice.after.max_stable_lr
            results[f"hp/{prefix}_predicted_updates"] = float("inf") if after is None else float(after)
        datamodule = getattr(trainer, "datamodule", None)
        if getattr(datamodule, "dropped_rows", 0):  # missing="drop": how many rows the fit did not see
            results["hp/dropped_rows"] = float(datamodule.dropped_rows)  # type: ignore[union-attr]
        if hasattr(datamodule, "training_rows"):  # the fit's statistics (glance.csv's), shared with CoefficientsCSV
            best = diagnosis.optimum if diagnosis is not None else None
            results.update(data_fit_answer(pl_module, datamodule, best=best, warn=False).glance.metrics())
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                # The hparams dashboard pairs these hyperparameters with these result metrics.
                logger.log_hyperparams(dict(pl_module.hparams), metrics=results)
            else:
                logger.log_metrics(results, step=trainer.global_step)


def _parameter_count(model: GradientDescentModule) -> int:
    return int(model.w.numel() + model.b.numel())


def _flat_parameters(model: GradientDescentModule) -> torch.Tensor:
    return torch.cat([model.w.detach().reshape(-1), model.b.detach().reshape(-1)]).clone()


def _strided(x: torch.Tensor, y: torch.Tensor, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """At most ``limit`` evenly strided rows."""
    stride = max(1, -(-x.shape[0] // limit))
    return x[::stride], y[::stride]


def _host(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()
