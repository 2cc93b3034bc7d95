"""Atomic writes: a file or a folder appears complete or not at all.

Files
    :func:`atomic_file` writes a hidden temporary sibling and renames it into place.

Plan output folders (:func:`atomic_output_dir`)
    The folder given as ``--out DIR`` belongs to the user, so it is written only when
    it does not exist, is empty, or is a previous plan output: a folder whose
    ``manifest.json`` was written by safepassage.  That manifest lists, under
    ``"outputs"``, the relative path of every file the tool wrote (manifests of
    earlier versions without the list are matched against the known output names).
    Any other folder is refused with :class:`OutputFolderError` by
    :func:`check_output_dir`, which callers run before any planning work starts.

    Scheme.  A new folder is staged beside it (``.DIR.tmp-XXXX``) and renamed into
    place.  An existing folder is never renamed -- it may be the working directory
    of the user's shell (``--out .``), which renaming away would strand in a deleted
    folder.  Instead the outputs are staged inside it (``DIR/.safepassage-tmp-XXXX``,
    same file system, so every move is a rename) and, once the whole body succeeded,
    swapped in file by file:

    1. ``manifest.json`` is rewritten to list the old *and* the new outputs (a
       journal: should the process be killed mid-swap, the next run still knows
       every file the tool wrote);
    2. each new file is renamed over its old version;
    3. old outputs the new plan did not write again are removed (only files the
       old manifest lists);
    4. the new ``manifest.json`` is renamed in last, and the staging folder removed.

    Files in the old folder that its manifest does not list (a planner's notes, a
    subfolder) stay where they are and a warning names them.  Ctrl-C and SIGTERM are
    held back during the swap (a few renames), so an interrupt leaves either the
    old outputs or the new ones.  On any exception in the body (KeyboardInterrupt
    included) the staging folder is removed and the old outputs are untouched.

    Every staging folder holds a marker file (``.safepassage-staging``, with the
    process id and host).  A staging folder left by a killed run is removed at the
    next run of the same output, once its process is gone; folders without the
    marker are never touched.

Tool-owned folders (:func:`atomic_replace_dir`)
    Caches the tool alone writes are replaced wholesale: a temporary sibling is
    renamed over them.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import DataError, OutputFolderError
from .signals import deferred_interrupts

__all__ = [
    "MANIFEST_NAME",
    "OutputFolder",
    "atomic_file",
    "atomic_output_dir",
    "atomic_replace_dir",
    "check_output_dir",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
OUTPUTS_KEY = "outputs"
MARKER_NAME = ".safepassage-staging"
INNER_PREFIX = ".safepassage-tmp-"
_SHOWN = 3  # foreign files named in a message


@dataclass(frozen=True)
class OutputFolder:
    """What :func:`check_output_dir` found at an output path.

    Attributes
    ----------
    path
        The folder, absolute.
    owned
        Relative POSIX paths of the files (and emptied folders, ending in ``/``)
        a previous plan wrote there, ``manifest.json`` included; empty when the
        folder is new or empty.
    kept
        Relative paths of the other files of a previous plan folder (left in place).
    """

    path: Path
    owned: frozenset[str] = frozenset()
    kept: tuple[str, ...] = ()


def _few(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _mark(folder: Path) -> None:
    marker = {"pid": os.getpid(), "host": socket.gethostname()}
    (folder / MARKER_NAME).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def _is_staging(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (folder / MARKER_NAME).is_file()


def _is_stale(folder: Path) -> bool:
    """A staging folder whose run is over (same host, process gone)."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        pid, host = int(marker["pid"]), str(marker["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return host == socket.gethostname() and pid != os.getpid() and not _pid_alive(pid)


def _remove_stale(final: Path) -> None:
    """Remove staging folders of killed runs, beside ``final`` and inside it."""
    candidates: list[Path] = []
    if final.name and final.parent.is_dir():
        candidates += final.parent.glob(f".{glob.escape(final.name)}.tmp-*")
    if final.is_dir():
        candidates += final.glob(f"{INNER_PREFIX}*")
    for folder in candidates:
        if _is_staging(folder) and _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("removed %s, left by an interrupted run", folder)


def _entries(folder: Path) -> list[str]:
    """Relative POSIX paths of the files and empty folders under ``folder``.

    Symbolic links count as files (never followed); staging folders are skipped.
    """
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        rel = PurePosixPath(here.relative_to(folder).as_posix())
        keep, before = [], len(found)
        for name in sorted(dirs):
            path = here / name
            if path.is_symlink():
                found.append(str(rel / name))
            elif not (here == folder and name.startswith(INNER_PREFIX) and _is_staging(path)):
                keep.append(name)
        dirs[:] = keep
        found += (str(rel / name) for name in sorted(files))
        if here != folder and not keep and len(found) == before:
            found.append(f"{rel}/")
    return sorted(p.removeprefix("./") for p in found)


def _safe_relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest when safepassage wrote it, else None."""
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or "manifest_version" not in data:
        return None
    return data


def _owned(manifest: dict[str, Any], entries: list[str], known: Collection[str]) -> frozenset[str]:
    listed = manifest.get(OUTPUTS_KEY)
    if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
        files = {p for p in listed if _safe_relative(p)}
    else:  # a manifest of an earlier version: the known output names
        files = {e for e in entries if any(fnmatch.fnmatch(e, pat) for pat in known)}
    files.add(MANIFEST_NAME)
    parents = {str(p) for f in files for p in PurePosixPath(f).parents if str(p) != "."}
    emptied = {e for e in entries if e.endswith("/") and e.rstrip("/") in parents}
    return frozenset(files | emptied)


def check_output_dir(
    final: str | os.PathLike[str], *, known: Collection[str] = (), clean: bool = True
) -> OutputFolder:
    """Check that outputs may be written to ``final``; remove stale staging folders.

    Parameters
    ----------
    final
        The output folder (relative paths and ``.`` are fine).
    known
        Glob patterns (relative POSIX paths) of the files a plan may write, e.g.
        ``"partner/posts_*.pdf"``: they stand in for the list in manifests that
        lack one, and a file of the user's at such a path is refused, since the
        new plan could overwrite it.
    clean
        Remove staging folders that killed runs left (False: only look, as
        ``safepassage validate`` does).

    Returns
    -------
    OutputFolder
        The absolute path, the files a previous plan wrote and the other files.

    Raises
    ------
    OutputFolderError
        If ``final`` is a file, or a folder that is neither empty nor a previous
        plan output, or a previous plan output holding a user's file where a new
        output may go.  The message names a few of the files and what to do.
    """
    final = Path(final).absolute()
    if final.is_symlink() and not final.exists():
        raise OutputFolderError(f"output path {final} is a broken symbolic link; fix or remove it")
    if final.exists() and not final.is_dir():
        raise OutputFolderError(f"output path {final} is an existing file; choose a folder path")
    if clean:
        _remove_stale(final)
    if not final.exists():
        return OutputFolder(final)
    entries = _entries(final)
    if not entries:
        return OutputFolder(final)
    manifest = _read_manifest(final)
    if manifest is None:
        raise OutputFolderError(
            f"output folder {final} is not empty and holds no plan output "
            f"(no {MANIFEST_NAME} written by safepassage): it holds {_few(entries)}. "
            "safepassage writes only into a new or empty folder or over a previous plan: "
            "choose a new or empty folder for --out, or remove those files."
        )
    owned = _owned(manifest, entries, known)
    foreign = [e for e in entries if e not in owned]
    clash = [e for e in foreign if any(fnmatch.fnmatch(e, pat) for pat in known)]
    if clash:
        raise OutputFolderError(
            f"output folder {final} holds a previous plan and {_few(clash)}, which that plan "
            f"did not write (not listed in its {MANIFEST_NAME}) but a new plan may "
            "overwrite: move them elsewhere, or choose a new or empty folder for --out."
        )
    present = frozenset(e for e in owned if e in entries)
    return OutputFolder(final, owned=present, kept=tuple(foreign))


@contextmanager
def atomic_output_dir(
    final: str | os.PathLike[str], *, known: Collection[str] = ()
) -> Iterator[Path]:
    """Write a plan output folder atomically: yield a staging folder, swap it in on success.

    ``final`` must pass :func:`check_output_dir` (with the same ``known``);
    see the module docstring for the scheme.  The staged ``manifest.json`` gets an
    ``"outputs"`` list of every file written (one is created if the body wrote
    none).  On any exception (KeyboardInterrupt included) the staging folder is
    removed and ``final`` is left untouched.

    Raises
    ------
    OutputFolderError
        As :func:`check_output_dir`; also if, while the body ran, a file appeared
        in ``final`` where an output goes (nothing is swapped in then).
    """
    folder = check_output_dir(final, known=known)
    final = folder.path
    fresh = not final.exists()
    if fresh:
        final.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    else:
        stage = Path(tempfile.mkdtemp(prefix=INNER_PREFIX, dir=final))
    try:
        _mark(stage)
        stage.chmod(0o755)
        yield stage
        with deferred_interrupts():
            new = _list_outputs(stage)
            if fresh:
                (stage / MARKER_NAME).unlink()
                try:
                    stage.rename(final)
                except OSError as exc:
                    raise OutputFolderError(
                        f"cannot create output folder {final} ({exc}); "
                        "choose a new or empty folder for --out"
                    ) from exc
            else:
                _swap_in(stage, folder, new)
    except BaseException:
        with deferred_interrupts():
            shutil.rmtree(stage, ignore_errors=True)
        raise
    if folder.kept:
        logger.warning(
            "kept %d file(s) in %s that the previous plan did not write: %s",
            len(folder.kept),
            final,
            _few(folder.kept),
        )


def _write_manifest_json(path: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    with atomic_file(path) as part:
        part.write_text(text, encoding="utf-8")


def _list_outputs(stage: Path) -> list[str]:
    """Relative paths of the staged files; records them in the staged manifest."""
    files = [e for e in _entries(stage) if not e.endswith("/") and e != MARKER_NAME]
    if MANIFEST_NAME not in files:
        files.append(MANIFEST_NAME)
    files.sort()
    manifest = _read_manifest(stage) or {"manifest_version": 1}
    manifest[OUTPUTS_KEY] = files
    _write_manifest_json(stage / MANIFEST_NAME, manifest)
    return files


def _swap_in(stage: Path, folder: OutputFolder, new: list[str]) -> None:
    """Steps 1-4 of the module docstring (the caller holds interrupts back)."""
    final = folder.path
    in_the_way = []
    for rel in new:
        target = final / rel
        parents = [final / p for p in PurePosixPath(rel).parents if str(p) != "."]
        is_folder = target.is_dir() and not target.is_symlink()
        under_a_file = any(p.exists() and not p.is_dir() for p in parents)
        foreign = rel not in folder.owned and (target.exists() or target.is_symlink())
        if is_folder or under_a_file or foreign:
            in_the_way.append(rel)
    if in_the_way:
        raise OutputFolderError(
            f"output folder {final}: {_few(in_the_way)} appeared while planning and would be "
            "overwritten; the new plan was not written. Move them elsewhere and run again, "
            "or choose a new or empty folder for --out."
        )
    journal = _read_manifest(stage) or {"manifest_version": 1}
    owned_files = {o for o in folder.owned if not o.endswith("/")}
    journal[OUTPUTS_KEY] = sorted(owned_files | set(new))
    _write_manifest_json(final / MANIFEST_NAME, journal)
    for rel in new:
        if rel != MANIFEST_NAME:
            (final / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, final / rel)
    for rel in sorted(folder.owned - set(new), reverse=True):
        target = final / rel.rstrip("/")
        if rel.endswith("/"):
            _rmdir_if_empty(target)
        else:
            target.unlink(missing_ok=True)
            for parent in target.relative_to(final).parents:
                if str(parent) != "." and not _rmdir_if_empty(final / parent):
                    break
    os.replace(stage / MANIFEST_NAME, final / MANIFEST_NAME)
    shutil.rmtree(stage, ignore_errors=True)


def _rmdir_if_empty(folder: Path) -> bool:
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


@contextmanager
def atomic_replace_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Replace a folder only the tool writes (a cache) wholesale, atomically.

    Yields a temporary sibling, renamed to ``final`` on success; an existing
    ``final`` is replaced only then.  On any exception (KeyboardInterrupt included)
    the temporary folder is removed and the old folder left untouched.  Not for
    folders a user names: use :func:`atomic_output_dir`.

    Raises
    ------
    DataError
        If ``final`` exists and is not a folder.
    """
    final = Path(final).absolute()
    if final.exists() and not final.is_dir():
        raise DataError(f"output path {final} is an existing file; choose a folder path")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    work.chmod(0o755)
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        yield work
        with deferred_interrupts():
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
