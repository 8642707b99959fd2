"""Metric sinks. Every run writes metrics.jsonl; TensorBoard, MLflow and plugins by config.

A tracker is anything with ``log(metrics, step)``, ``log_text(name, text, step)`` and
``close()``; forge's own are registered under the kind ``tracker`` and plugins add theirs
through the ``forge.tracker`` entry-point group.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Protocol

import orjson

from forge.errors import ForgeError
from forge.registry import register


class Tracker(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None: ...
    def log_text(self, name: str, text: str, step: int) -> None: ...
    def close(self) -> None: ...


@register("tracker", "jsonl")
class JsonlTracker:
    """One JSON object per line: ``{"step": s, "loss": ..., ...}``; samples in samples.jsonl."""

    def __init__(self, run_dir: Path, **_: Any):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.samples = Path(run_dir) / "samples.jsonl"
        self.f = open(self.path, "ab")  # noqa: SIM115  (open for the whole run)

    def log(self, metrics: dict[str, float], step: int) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in metrics.items()
        }
        self.f.write(orjson.dumps({"step": step, **clean}) + b"\n")

    def log_text(self, name: str, text: str, step: int) -> None:
        with open(self.samples, "ab") as f:
            f.write(orjson.dumps({"step": step, "name": name, "text": text}) + b"\n")

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def truncate_metrics(run_dir: Path, last_step: int) -> None:
    """Drop metric and sample lines after ``last_step`` (a resumed run writes them again)."""
    for name in ("metrics.jsonl", "samples.jsonl"):
        path = Path(run_dir) / name
        if not path.is_file():
            continue
        keep = []
        for line in path.read_bytes().splitlines():
            try:
                if orjson.loads(line)["step"] <= last_step:
                    keep.append(line)
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut short by a kill
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(b"".join(line + b"\n" for line in keep))
        tmp.replace(path)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return out


@register("tracker", "tensorboard")
class TensorBoardTracker:
    def __init__(self, run_dir: Path, **_: Any):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ForgeError(
                "TensorBoard is not installed", "pip install 'forge[train]' (tensorboard)"
            ) from e
        self.w = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for k, v in metrics.items():
            if isinstance(v, (int, float)):
                self.w.add_scalar(k, v, step)

    def log_text(self, name: str, text: str, step: int) -> None:
        self.w.add_text(name, text, step)

    def close(self) -> None:
        self.w.close()


@register("tracker", "mlflow")
class MLflowTracker:
    """MLflow; by default a local SQLite store ``mlflow.db`` beside the runs."""

    def __init__(
        self,
        run_dir: Path,
        uri: str | None = None,
        experiment: str = "forge",
        params: dict[str, Any] | None = None,
        **_: Any,
    ):
        try:
            import mlflow
        except ImportError as e:
            raise ForgeError("MLflow is not installed", "pip install 'forge[mlflow]'") from e
        run_dir = Path(run_dir)
        uri = uri or f"sqlite:///{(run_dir.parent / 'mlflow.db').resolve()}"
        self.client = mlflow.tracking.MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp else self.client.create_experiment(experiment)
        id_file = run_dir / "mlflow_run_id"
        run_id = id_file.read_text().strip() if id_file.is_file() else None
        if run_id is None:  # a resumed run keeps logging into its MLflow run
            run_id = self.client.create_run(exp_id, run_name=run_dir.name).info.run_id
            id_file.write_text(run_id)
            from mlflow.entities import Param

            batch = [Param(k, str(v)[:500]) for k, v in (params or {}).items()]
            self.client.log_batch(run_id, params=batch)
        self.run_id = run_id
        self.uri = uri
        self.pending: list = []

    def log(self, metrics: dict[str, float], step: int) -> None:
        # Buffered: one SQLite transaction per step would cost more than a tiny model's step.
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending.extend(
            Metric(k.replace("/", "_"), float(v), now, step)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and math.isfinite(v)
        )

    def flush(self) -> None:
        for i in range(0, len(self.pending), 1000):  # MLflow takes at most 1000 per batch
            self.client.log_batch(self.run_id, metrics=self.pending[i : i + 1000])
        self.pending = []

    def log_text(self, name: str, text: str, step: int) -> None:
        self.client.log_text(self.run_id, text, f"samples/{name}-{step:07d}.txt")

    def close(self, status: str = "FINISHED") -> None:
        self.flush()
        self.client.set_terminated(self.run_id, status)


class Trackers:
    """Fan out to several trackers; metrics.jsonl first and always."""

    def __init__(self, trackers: list[Any]):
        self.trackers = trackers

    def log(self, metrics: dict[str, float], step: int) -> None:
        for t in self.trackers:
            t.log(metrics, step)

    def log_text(self, name: str, text: str, step: int) -> None:
        for t in self.trackers:
            t.log_text(name, text, step)

    def flush(self) -> None:
        for t in self.trackers:
            if hasattr(t, "flush"):
                t.flush()

    def close(self) -> None:
        for t in self.trackers:
            t.close()


def make_trackers(cfg, run_dir: Path, params: dict[str, Any]) -> Trackers:
    """The trackers a TrackingConfig asks for (``cfg``: forge.config.tracking.TrackingConfig)."""
    from forge.registry import get

    out: list[Any] = [JsonlTracker(run_dir)]
    if cfg.tensorboard:
        out.append(TensorBoardTracker(run_dir))
    if cfg.mlflow:
        out.append(MLflowTracker(run_dir, cfg.mlflow_uri, cfg.mlflow_experiment, params))
    for name in cfg.trackers:
        out.append(get("tracker", name)(run_dir=run_dir, params=params))
    return Trackers(out)
