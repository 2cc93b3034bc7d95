"""Atomic writes: a file or a folder appears complete or not at all.

The content is written to a temporary sibling and renamed into place only when
the body succeeded, so a failed run leaves earlier outputs intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DataError

__all__ = ["atomic_file", "atomic_output_dir"]


@contextmanager
def atomic_output_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a folder atomically: yield a temporary sibling, rename it to ``final`` on success.

    An existing ``final`` folder is replaced only after the body succeeded; on any
    exception (KeyboardInterrupt included) the temporary folder is removed and the
    old folder is left untouched.

    Raises
    ------
    DataError
        If ``final`` exists and is not a folder.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise DataError(f"output path {final} is an existing file; choose a folder path")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    work.chmod(0o755)
    try:
        yield work
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            final.rename(old)
        try:
            work.rename(final)
        except BaseException:
            if old.exists():
                old.rename(final)
            raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Write a file atomically: yield a hidden temporary sibling, renamed to ``path`` on success.

    The temporary name keeps ``path``'s suffix (drivers such as GDAL choose the
    format by it); on any exception it is removed and ``path`` is left untouched.
    ``mode`` (e.g. ``0o644``) sets the file's permissions before the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        yield part
        if mode is not None:
            part.chmod(mode)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
