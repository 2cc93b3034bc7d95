"""The TOML field reader behind :mod:`safepassage.config`, and config path resolution.

:class:`Fields` reads one TOML table, checks each key's type and range, and
records every problem with its TOML path so that loading reports them all at
once.  Paths are resolved against the config folder or, with the ``data:``
prefix, against the shared data root.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_ENV",
    "DATA_PREFIX",
    "Fields",
    "default_cache_dir",
    "default_data_root",
    "resolve_path",
]


DATA_ENV = "SAFEPASSAGE_DATA"
DATA_PREFIX = "data:"


def default_data_root(start: Path | None = None) -> Path:
    """Folder holding the shared Chicago data.

    ``$SAFEPASSAGE_DATA`` when set, else ``../shared/data/chicago`` next to the
    checkout (searched upwards from ``start``, default the working directory).
    The folder may not exist; callers say so and how to fetch it.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "data" / "chicago"
        if candidate.is_dir():
            return candidate
    return here.parent / "shared" / "data" / "chicago"


_MISSING: Any = object()


def resolve_path(text: str, base: Path, data_root: Path | None) -> Path:
    """Resolve a config path: ``data:`` prefix -> data root, ``~`` -> home, else ``base``."""
    if text.startswith(DATA_PREFIX):
        root = data_root if data_root is not None else default_data_root(base)
        return Path(os.path.normpath(root / text[len(DATA_PREFIX) :].lstrip("/")))
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "safepassage"


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class Fields:
    """Reads one TOML table, recording every problem (with its TOML path) in ``problems``.

    Each getter marks its key as known and returns the default on a problem, so
    loading continues and all problems are reported together; :meth:`finish`
    reports the keys nobody asked for.
    """

    def __init__(
        self, raw: Any, prefix: str, problems: list[str], *, base: Path, data_root: Path | None
    ) -> None:
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        self.prefix = prefix
        self.problems = problems
        self.base = base
        self.data_root = data_root
        self.known: set[str] = set()
        self.children: dict[str, Fields] = {}

    def where(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}: {message}")

    def _get(self, key: str) -> Any:
        self.known.add(key)
        return self.raw.get(key, _MISSING)

    def _child(self, raw: Any, prefix: str) -> Fields:
        return Fields(raw, prefix, self.problems, base=self.base, data_root=self.data_root)

    def table(self, key: str) -> Fields:
        if key not in self.children:
            value = self._get(key)
            if value is not _MISSING and not isinstance(value, Mapping):
                self.problem(key, f"must be a table, got {_type_name(value)}")
            self.children[key] = self._child(value, self.where(key))
        return self.children[key]

    def table_keys(self, key: str) -> list[str]:
        return [str(k) for k in self.table(key).raw]

    def table_list(self, key: str) -> list[Fields]:
        value = self._get(key)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.problem(key, "must be a list of tables ([[...]] entries)")
            return []
        return [self._child(v, f"{self.where(key)}[{i}]") for i, v in enumerate(value)]

    def _typed(self, key: str, default: Any, kinds: tuple[type, ...], word: str) -> Any:
        value = self._get(key)
        if value is _MISSING:
            return default
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problem(key, f"must be {word}, got {_type_name(value)} {value!r}")
            return default
        return value

    def string(self, key: str, default: str) -> str:
        return str(self._typed(key, default, (str,), "a string"))

    def boolean(self, key: str, default: bool) -> bool:
        return bool(self._typed(key, default, (bool,), "true or false"))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._typed(key, [], (list,), "a list of strings")
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
            self.problem(key, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(str(v) for v in value)

    def _bounded(
        self, key: str, value: float, minimum: float | None, maximum: float | None, positive: bool
    ) -> bool:
        if positive and value <= 0:
            self.problem(key, f"must be > 0, got {value}")
        elif minimum is not None and value < minimum:
            self.problem(key, f"must be >= {minimum}, got {value}")
        elif maximum is not None and value > maximum:
            self.problem(key, f"must be <= {maximum}, got {value}")
        else:
            return True
        return False

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self._typed(key, default, (int,), "an integer")
        return int(value) if self._bounded(key, value, minimum, maximum, False) else default

    def optional_number(
        self,
        key: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        value = self._typed(key, None, (int, float), "a number")
        if value is None or not self._bounded(key, value, minimum, maximum, positive):
            return None
        return float(value)

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.optional_number(key, minimum=minimum, maximum=maximum, positive=positive)
        return default if value is None else value

    def number_table(self, key: str, *, positive: bool = False) -> dict[str, float]:
        table = self.table(key)
        result = {}
        for name in list(table.raw):
            value = table.optional_number(
                name, minimum=None if positive else 0.0, positive=positive
            )
            if value is not None:
                result[str(name)] = value
        return result

    def clock(self, key: str, default: str) -> str:
        text = self.string(key, default)
        hours, sep, minutes = text.partition(":")
        if (
            sep
            and hours.isdigit()
            and minutes.isdigit()
            and len(minutes) == 2
            and int(hours) < 24
            and int(minutes) < 60
        ):
            return f"{int(hours):02d}:{minutes}"
        self.problem(key, f"must be a time of day HH:MM, got {text!r}")
        return default

    def clock_pair(self, key: str, default: tuple[str, str]) -> tuple[str, str]:
        value = self._typed(key, list(default), (list,), 'a pair of times ["HH:MM", "HH:MM"]')
        if len(value) != 2:
            self.problem(key, f'must be a pair of times ["HH:MM", "HH:MM"], got {value!r}')
            return default
        pair = self._child({"start": value[0], "end": value[1]}, self.where(key))
        return pair.clock("start", default[0]), pair.clock("end", default[1])

    def path(self, key: str, *, must_exist: bool = True) -> Path | None:
        text = self._typed(key, None, (str,), "a path string")
        return None if text is None else self._resolve(key, text, must_exist)

    def required_path(self, key: str) -> Path:
        path = self.path(key)
        if key not in self.raw:
            self.problem(key, "is required")
        return path or Path()

    def paths(self, key: str, *, required: bool = False) -> tuple[Path, ...]:
        value = self._typed(key, [], (list, str), "a list of path strings")
        items = [value] if isinstance(value, str) else value
        if required and not items:
            self.problem(key, "needs at least one file")
        if not all(isinstance(v, str) for v in items):
            self.problem(key, f"must be a list of path strings, got {value!r}")
            return ()
        return tuple(self._resolve(f"{key}[{i}]", v, True) for i, v in enumerate(items))

    def _resolve(self, key: str, text: str, must_exist: bool) -> Path:
        path = resolve_path(text, self.base, self.data_root)
        if must_exist and not path.is_file():
            origin = (
                f"'data:' paths are read from the data root {self.data_root} (set ${DATA_ENV})"
                if text.startswith(DATA_PREFIX)
                else f"relative paths are read from the config folder {self.base}"
            )
            state = "is not a file" if path.exists() else "file not found"
            self.problem(key, f"{state}: {path} ({origin})")
        return path

    def finish(self) -> None:
        for key in self.raw:
            if key not in self.known:
                expected = ", ".join(sorted(self.known)) or "(no keys)"
                self.problem(str(key), f"unknown key (expected one of: {expected})")
