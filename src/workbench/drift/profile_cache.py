"""Where reference profiles are kept: an MLflow artifact of the model version's run
(`workbench/profile-<key>.npz`), or a file cache (data/cache/profiles, or $WORKBENCH_CACHE_DIR)
when the reference is a file or MLflow cannot store it. Learned once, reused every week. Also which
features a model's profile covers (features_for), so this module needs nothing from the review."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.drift.profile import ReferenceProfile, profile_key

if TYPE_CHECKING:
    from workbench.config import FeatureDrift
    from workbench.context import ReviewContext

log = logging.getLogger(__name__)
ARTIFACT_DIR = "workbench"


def cache_dir(root: Path) -> Path:
    from workbench.config import cache_root

    return cache_root(root) / "profiles"


def _from_file(ctx: "ReviewContext", features: list[str], bins: int, kinds: dict, discovered: bool
               ) -> ReferenceProfile:
    from workbench.sources.model_registry import load_reference_file

    path = (ctx.root / ctx.model.reference).resolve()
    st = path.stat() if path.exists() else None
    source = f"{path}:{st.st_size}:{st.st_mtime_ns}" if st else str(path)
    cached = cache_dir(ctx.root) / ctx.model.name / f"{profile_key(ctx.model.name, 'file', _keyed(features, kinds), bins, source)}.npz"
    if cached.exists():
        return ReferenceProfile.load(cached)
    reference = load_reference_file(path)
    features = _usable(reference, features, str(path), discovered)
    profile = ReferenceProfile.fit(reference, features, bins, source=str(path), kinds=kinds)
    profile.save(cached)
    return profile


def _keyed(features: list[str], kinds: dict) -> list[str]:
    """Feature names with their configured types, for the cache key."""
    return [f"{f}:{kinds.get(f) or 'auto'}" for f in features]


def _usable(reference, features: list[str], where: str, discovered: bool) -> list[str]:
    """The features to profile: all configured ones (a missing one is an error), or the discovered
    ones that the reference has."""
    if discovered:
        keep = [f for f in features if f in reference.columns]
        if not keep:
            from workbench.errors import ConfigError

            raise ConfigError(f"none of the store's features ({', '.join(features)}) is a column of the reference "
                              f"data ({where}); list the model's features in params/monitoring.yaml")
        return keep
    _check_columns(reference, features, where)
    return features


def _check_columns(reference, features: list[str], where: str) -> None:
    from workbench.errors import ConfigError

    missing = [f for f in features if f not in reference.columns]
    if missing:
        raise ConfigError(f"feature(s) {', '.join(missing)} configured in params/monitoring.yaml are not in the "
                          f"reference data ({where}); its columns: {', '.join(map(str, reference.columns))}")


def features_for(ctx: "ReviewContext") -> dict[str, "FeatureDrift"]:
    """The model's features from params/monitoring.yaml; for a model not configured there, every
    feature the store has (columns not mapped to a role, or the JSON column's keys), each with the
    automatic type and method (those not in the reference are left out when it is profiled)."""
    configured = ctx.monitoring.drift_detection.features_for(ctx.model.name)
    if configured or ctx.model.name in ctx.monitoring.drift_detection.models:
        return configured
    from workbench.config import FeatureDrift

    return {f: FeatureDrift() for f in ctx.store.feature_columns()}


def load_or_fit(ctx: "ReviewContext", reference_version: str = "") -> ReferenceProfile:
    """The profile of the model's reference for the configured features."""
    dd = ctx.monitoring.drift_detection
    cfg = features_for(ctx)
    discovered = not dd.features_for(ctx.model.name)
    features = list(cfg)
    kinds = {f: c.kind for f, c in cfg.items()}
    if ctx.model.reference:
        return _from_file(ctx, features, dd.psi_bins, kinds, discovered)
    version = reference_version or ctx.serving_version()
    run_id = ctx.registry.run_id(ctx.model.name, version)
    key = profile_key(ctx.model.name, version, _keyed(features, kinds), dd.psi_bins, run_id)
    name = f"profile-{key}.npz"
    local = cache_dir(ctx.root) / ctx.model.name / name
    if local.exists():
        return ReferenceProfile.load(local)
    data = ctx.registry.read_artifact(run_id, f"{ARTIFACT_DIR}/{name}")
    if data is not None:
        profile = ReferenceProfile.from_bytes(data)
        profile.save(local)
        return profile
    reference = ctx.registry.reference(ctx.model.name, version)
    features = _usable(reference, features, f"MLflow {ctx.model.name} {version}", discovered)
    profile = ReferenceProfile.fit(reference, features, dd.psi_bins, source=f"mlflow run {run_id}", kinds=kinds)
    profile.save(local)
    with tempfile.TemporaryDirectory() as tmp:
        path = profile.save(Path(tmp) / name)
        reason = ctx.registry.write_artifact(run_id, path, ARTIFACT_DIR)
        if reason:
            log.warning("reference profile kept in the file cache only: %s", reason, extra={"path": str(local)})
    return profile
