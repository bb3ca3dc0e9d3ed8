"""Registers the demo's model versions in MLflow: reference data, training metrics, importances."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.demo.data import CHURN, FEATURES, REVENUE, DemoHistory

EXPERIMENT = "workbench-demo"


def _training_metrics(kind: str, ref: pd.DataFrame) -> dict[str, float]:
    from sklearn import metrics as m

    y, yhat = ref["target"].to_numpy(), ref["prediction"].to_numpy()
    if kind == "classification":
        p = ref["probability"].to_numpy()
        return {
            "accuracy": m.accuracy_score(y, yhat),
            "precision": m.precision_score(y, yhat, average="weighted"),
            "recall": m.recall_score(y, yhat, average="weighted"),
            "f1": m.f1_score(y, yhat, average="weighted"),
            "roc_auc": m.roc_auc_score(y, p),
            "pr_auc": m.average_precision_score(y, p),
            "log_loss": m.log_loss(y, p),
            "brier": m.brier_score_loss(y, p),
        }
    return {"mae": m.mean_absolute_error(y, yhat), "rmse": float(np.sqrt(m.mean_squared_error(y, yhat))),
            "r2": m.r2_score(y, yhat)}


def _importances(model: str, ref: pd.DataFrame, rng: np.random.Generator) -> dict[str, float]:
    base = {"contract": 0.24, "tenure": 0.19, "monthly_charges": 0.16, "internet_service": 0.12,
            "payment_method": 0.09, "num_support_tickets": 0.08, "total_charges": 0.06,
            "senior_citizen": 0.04, "paperless_billing": 0.02}
    if model != CHURN:
        base = {"monthly_charges": 0.62, "internet_service": 0.14, "tenure": 0.1, "contract": 0.08,
                "total_charges": 0.06}
    logged = [f for f in FEATURES if f in ref.columns]
    if model not in (CHURN, REVENUE):  # a fleet model: importances over the features it logs
        base = {f: base.get(f, 0.03) for f in logged}
    noisy = {k: v * rng.uniform(0.9, 1.1) for k, v in base.items()}
    s = sum(noisy.values())
    return {k: round(v / s, 4) for k, v in noisy.items()}


def register_models(h: DemoHistory, tracking_uri: str, artifact_dir: Path, seed: int = 7) -> list[dict[str, str]]:
    """Log one training run per model version and register it; returns what was registered."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    exp_id = exp.experiment_id if exp else client.create_experiment(
        EXPERIMENT, artifact_location=artifact_dir.resolve().as_uri())
    rng = np.random.default_rng(seed + 2)
    out = []
    for (model, version), ref in h.references.items():
        if not _exists(client, model):
            client.create_registered_model(model, description=f"demo model {model}")
        with mlflow.start_run(experiment_id=exp_id, run_name=f"{model}-{version}") as run:
            mlflow.set_tags({"model_name": model, "model_version": version, "workbench.role": "training"})
            mlflow.log_params({"model_version": version, "n_reference_rows": len(ref),
                               "features": ",".join(f for f in FEATURES if f in ref.columns)})
            mlflow.log_metrics(_training_metrics(h.model_types.get(model, "regression"), ref))
            with tempfile.TemporaryDirectory() as tmp:
                ref_path = Path(tmp) / "reference.parquet"
                ref.to_parquet(ref_path, index=False)
                mlflow.log_artifact(str(ref_path), artifact_path="reference")
                imp_path = Path(tmp) / "feature_importances.json"
                imp_path.write_text(json.dumps(_importances(model, ref, rng), indent=2))
                mlflow.log_artifact(str(imp_path))
            mv = client.create_model_version(model, source=f"{run.info.artifact_uri}/reference",
                                             run_id=run.info.run_id, tags={"model_version": version})
            client.set_registered_model_alias(model, "v" + version.replace(".", "-"), mv.version)
        out.append({"model": model, "version": version, "registry_version": str(mv.version),
                    "run_id": run.info.run_id})
    return out


def _exists(client, name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return True
    except MlflowException:
        return False
