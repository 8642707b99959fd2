"""TensorBoard and MLflow (local SQLite store) receive the run's metrics."""

from __future__ import annotations

from tests.train.conftest import tiny_config

from forge.config import validate
from forge.train.loop import train


def test_tensorboard_and_mlflow(stdlib_corpus, tmp_path):
    cfg = tiny_config(stdlib_corpus, tmp_path / "runs", max_steps=10, eval_interval=5)
    cfg["training"]["run_name"] = "t"
    cfg["tracking"] = {"tensorboard": True, "mlflow": True}
    result = train(validate(cfg))
    run = tmp_path / "runs" / "t"
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    assert len(acc.Scalars("loss")) == 10 and len(acc.Scalars("val/loss")) == 2

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    run_id = (run / "mlflow_run_id").read_text().strip()
    history = client.get_metric_history(run_id, "val_loss")
    assert [m.step for m in history] == [5, 10]
    assert abs(history[-1].value - result.last_val["loss"]) < 1e-9
    assert client.get_run(run_id).data.params["n_layer"] == "2"
    assert client.get_run(run_id).info.status == "FINISHED"
