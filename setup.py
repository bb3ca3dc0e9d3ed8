"""Build hook: the review notebooks and the default params ship inside the wheel.

Metadata lives in pyproject.toml. The canonical notebooks/ and params/ stay at the top of the
repository (JupyterLab, nbval and `make` use them there); building the package copies them into
`workbench/notebooks/` and `workbench/default_params/`, where `workbench.resources` finds them in an
installed package. MANIFEST.in puts them in the sdist, so a wheel built from the sdist has them too.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = {"notebooks": ("notebooks", "*.ipynb"), "params": ("default_params", "*.yaml")}


class BuildWithReviewFiles(build_py):
    """build_py, then the notebooks and default params copied into the built package."""

    def run(self) -> None:
        super().run()
        for source, (target, pattern) in SHIPPED.items():
            files = sorted((HERE / source).glob(pattern))
            if not files:
                raise SystemExit(f"{HERE / source}: no {pattern} to ship in the package")
            dest = Path(self.build_lib) / "workbench" / target
            dest.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copyfile(f, dest / f.name)


setup(cmdclass={"build_py": BuildWithReviewFiles})
