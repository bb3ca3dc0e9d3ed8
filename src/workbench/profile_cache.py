"""Where reference profiles are kept: an MLflow artifact of the model version's run
(`workbench/profile-<key>.npz`), or a file cache (data/cache/profiles, or $WORKBENCH_CACHE_DIR)
when the reference is a file or MLflow cannot store it. Learned once, reused every week."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.profile import ReferenceProfile, profile_key

if TYPE_CHECKING:
    from workbench.context import ReviewContext

log = logging.getLogger(__name__)
ARTIFACT_DIR = "workbench"


def cache_dir(root: Path) -> Path:
    return Path(os.environ.get("WORKBENCH_CACHE_DIR") or root / "data" / "cache") / "profiles"


def _from_file(ctx: "ReviewContext", features: list[str], bins: int) -> ReferenceProfile:
    from workbench.sources.model_registry import load_reference_file

    path = (ctx.root / ctx.model.reference).resolve()
    st = path.stat() if path.exists() else None
    source = f"{path}:{st.st_size}:{st.st_mtime_ns}" if st else str(path)
    cached = cache_dir(ctx.root) / ctx.model.name / f"{profile_key(ctx.model.name, 'file', features, bins, source)}.npz"
    if cached.exists():
        return ReferenceProfile.load(cached)
    reference = load_reference_file(path)
    _check_columns(reference, features, str(path))
    profile = ReferenceProfile.fit(reference, features, bins, source=str(path))
    profile.save(cached)
    return profile


def _check_columns(reference, features: list[str], where: str) -> None:
    from workbench.errors import ConfigError

    missing = [f for f in features if f not in reference.columns]
    if missing:
        raise ConfigError(f"feature(s) {', '.join(missing)} configured in params/monitoring.yaml are not in the "
                          f"reference data ({where}); its columns: {', '.join(map(str, reference.columns))}")


def load_or_fit(ctx: "ReviewContext", reference_version: str = "") -> ReferenceProfile:
    """The profile of the model's reference for the configured features."""
    dd = ctx.monitoring.drift_detection
    features = list(dd.features_for(ctx.model.name))
    if ctx.model.reference:
        return _from_file(ctx, features, dd.psi_bins)
    version = reference_version or ctx.serving_version()
    run_id = ctx.registry.run_id(ctx.model.name, version)
    key = profile_key(ctx.model.name, version, features, dd.psi_bins, run_id)
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
    _check_columns(reference, features, f"MLflow {ctx.model.name} {version}")
    profile = ReferenceProfile.fit(reference, features, dd.psi_bins, source=f"mlflow run {run_id}")
    profile.save(local)
    with tempfile.TemporaryDirectory() as tmp:
        path = profile.save(Path(tmp) / name)
        reason = ctx.registry.write_artifact(run_id, path, ARTIFACT_DIR)
        if reason:
            log.warning("reference profile kept in the file cache only: %s", reason, extra={"path": str(local)})
    return profile
