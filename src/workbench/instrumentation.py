"""The metrics contract: what a serving app emits so the reviews find it (the guide's ModelMonitor).

Names and labels are exactly those the query catalog and the alert rules read:
prediction_requests_total{model,version,status}, prediction_duration_seconds{model,version},
http_requests_total{method,endpoint,status}, http_request_duration_seconds{method,endpoint},
model_accuracy_score{model,version}, data_drift_score{model,feature},
model_predictions_by_class{model,class} and ab_test_conversions{experiment,variant} (cumulative
counts under the guide's names, so gauges that only go up), database_connections_active{database},
redis_cache_hits_total / redis_cache_misses_total{operation}, mlflow_server_up{instance}.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ModelMonitor:
    """Counters, histograms and gauges of one serving process, on its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.prediction_counter = Counter("prediction_requests", "Prediction requests", ["model", "version", "status"],
                                          registry=r)
        self.prediction_latency = Histogram("prediction_duration_seconds", "Model prediction duration",
                                            ["model", "version"], registry=r)
        self.http_requests = Counter("http_requests", "HTTP requests", ["method", "endpoint", "status"], registry=r)
        self.http_latency = Histogram("http_request_duration_seconds", "HTTP request duration",
                                      ["method", "endpoint"], registry=r)
        self.accuracy_gauge = Gauge("model_accuracy_score", "Model accuracy score", ["model", "version"], registry=r)
        self.drift_gauge = Gauge("data_drift_score", "Data drift score", ["model", "feature"], registry=r)
        self.by_class = Gauge("model_predictions_by_class", "Predictions by predicted class (cumulative)",
                              ["model", "class"], registry=r)
        self.ab_conversions = Gauge("ab_test_conversions", "A/B test conversions (cumulative)",
                                    ["experiment", "variant"], registry=r)
        self.db_connections = Gauge("database_connections_active", "Active database connections", ["database"],
                                    registry=r)
        self.cache_hits = Counter("redis_cache_hits", "Redis cache hits", ["operation"], registry=r)
        self.cache_misses = Counter("redis_cache_misses", "Redis cache misses", ["operation"], registry=r)
        self.mlflow_up = Gauge("mlflow_server_up", "MLflow server health", ["instance"], registry=r)

    def log_prediction(self, model_name: str, model_version: str, latency: float, success: bool,
                       predicted_class: str | None = None) -> None:
        """One prediction: its outcome, its latency (successful ones) and its predicted class."""
        status = "success" if success else "error"
        self.prediction_counter.labels(model=model_name, version=model_version, status=status).inc()
        if success:
            self.prediction_latency.labels(model=model_name, version=model_version).observe(latency)
            if predicted_class is not None:
                self.by_class.labels(model=model_name, **{"class": str(predicted_class)}).inc()

    def log_http_request(self, method: str, endpoint: str, status: int, duration: float) -> None:
        self.http_requests.labels(method=method, endpoint=endpoint, status=str(status)).inc()
        self.http_latency.labels(method=method, endpoint=endpoint).observe(duration)

    def update_model_metrics(self, model_name: str, model_version: str, metrics: dict[str, float],
                             log_to_mlflow: bool = False) -> None:
        """Set the accuracy gauge; with log_to_mlflow, also log the metrics to an MLflow run."""
        if "accuracy" in metrics:
            self.accuracy_gauge.labels(model=model_name, version=model_version).set(metrics["accuracy"])
        if log_to_mlflow:
            import mlflow

            with mlflow.start_run(tags={"model_name": model_name, "model_version": model_version}):
                mlflow.log_metrics(metrics)

    def log_drift_score(self, model_name: str, feature: str, drift_score: float) -> None:
        self.drift_gauge.labels(model=model_name, feature=feature).set(drift_score)

    def log_conversion(self, experiment: str, variant: str) -> None:
        self.ab_conversions.labels(experiment=experiment, variant=variant).inc()

    def serve(self, port: int = 0, addr: str = "127.0.0.1"):
        """Expose /metrics on addr:port in a background thread; returns the server (call .shutdown())."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return server
