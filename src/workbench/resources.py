"""Where the review notebooks and default params are: in an installed package, or in this checkout.

A wheel carries them inside the package (`workbench/notebooks/`, `workbench/default_params/`, copied
there by setup.py at build time); a checkout or an editable install has them at the top of the
repository (`notebooks/`, `params/`), where JupyterLab, nbval and `make` use them.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]  # src/workbench -> the repository root


def _shipped(packaged: str, checkout: str, pattern: str) -> Path:
    for folder in (_PACKAGE / packaged, _CHECKOUT / checkout):
        if folder.is_dir() and any(folder.glob(pattern)):
            return folder
    raise ConfigError(f"the workbench installation has no {checkout}: looked in {_PACKAGE / packaged} and "
                      f"{_CHECKOUT / checkout} (reinstall workbench from its wheel or repository)")


def packaged_notebooks() -> Path:
    """The folder of the review notebooks this workbench ships (01-drift-review.ipynb, ...)."""
    return _shipped("notebooks", "notebooks", "*.ipynb")


def default_params() -> Path:
    """The folder of the default params this workbench ships (queries.yaml, slos.yaml, alerts.yaml, ...)."""
    return _shipped("default_params", "params", "*.yaml")
