"""Atomic file writes: the one way workbench replaces a file that someone may be reading.

The content goes to a temporary file beside the target, named `.NAME.PID.tmp` (unique per process,
so two runs writing one cache file never share a temporary file), which is then renamed over the
target (`os.replace`, atomic on one file system). The temporary file is removed on every path: a full
disk or a crash in the middle leaves the previous file whole, and neither a 0-byte file nor a .tmp.
The runner removes what a killed worker left (`leftovers`).
"""

from __future__ import annotations

import os
from pathlib import Path


def temp_path(path: Path, pid: int | None = None) -> Path:
    """The temporary file a write of `path` by process `pid` (default: this one) goes through."""
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def leftovers(folder: Path, pid: int) -> list[Path]:
    """Temporary files process `pid` left anywhere under `folder` (it was killed mid-write)."""
    return list(folder.rglob(f".*.{pid}.tmp")) if folder.is_dir() else []


def _replace(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Replace `path` with `text` (UTF-8) atomically; its folder is created if needed."""
    return _replace(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace `path` with `data` atomically; its folder is created if needed."""
    return _replace(Path(path), lambda tmp: tmp.write_bytes(data))
