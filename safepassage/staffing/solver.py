"""CP-SAT plumbing shared by the staffing models.

Building a model is separate from solving it: callers build a
:class:`ortools.sat.python.cp_model.CpModel`, then :func:`solve` runs it with
:class:`SolverSettings` and returns an immutable :class:`SolveOutcome`, or
raises when the solver found no solution.  CP-SAT only accepts integer
coefficients; :func:`scale` turns measured values into integers.

Interrupts.  CP-SAT's own SIGINT handler is switched off (``catch_sigint_signal``
false): it would swallow Ctrl-C and let the run go on.  A solve started in the main
thread runs in a helper thread while the main thread waits, so Ctrl-C or SIGTERM
raises :class:`KeyboardInterrupt` at once; the solve is then stopped with
``stop_search`` and joined before the exception propagates.  Solves started in
threads of :func:`run_in_threads` are stopped the same way, and refuse to start,
when the call ends by an exception.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from safepassage.errors import InfeasibleError, SafePassageError
from safepassage.signals import deferred_interrupts

__all__ = [
    "SolveOutcome",
    "SolverSettings",
    "relative_gap",
    "run_in_threads",
    "scale",
    "solve",
    "solve_within",
]

T = TypeVar("T")
R = TypeVar("R")
_POLL_S = 0.05  # how often stopping solves are stopped again while they wind down


@dataclass(frozen=True)
class SolverSettings:
    """Parameters of a CP-SAT solve.

    Parameters
    ----------
    time_limit_s : float
        Wall-clock limit of one solve, in seconds.  When ``deterministic`` is
        true it becomes a limit in CP-SAT deterministic time units instead
        (``time_limit_s x DETERMINISTIC_UNITS_PER_SECOND``), which makes runs
        reproducible on any machine.
    num_workers : int
        Parallel search workers (threads).  Use 1 for reproducible tests.
    seed : int
        CP-SAT ``random_seed``.
    relative_gap : float
        Stop when ``|bound - objective| / max(1, |objective|)`` is at most this.
    linearization_level : int
        0, 1 or 2; 2 adds the LP relaxation of the linear constraints, which
        proves assignment-type models optimal far sooner.
    log : bool
        Print the CP-SAT search log.
    symmetry_in_lp : bool
        Fold symmetric variables (interchangeable workers) in the LP relaxation;
        on rostering models this closes gaps the plain LP leaves open.
    deterministic : bool
        Interpret ``time_limit_s`` as deterministic time (see above).
    """

    time_limit_s: float = 60.0
    num_workers: int = 2
    seed: int = 0
    relative_gap: float = 0.01
    linearization_level: int = 2
    log: bool = False
    deterministic: bool = False
    symmetry_in_lp: bool = True

    @classmethod
    def for_tests(cls, *, seed: int = 0, time_limit_s: float = 20.0) -> SolverSettings:
        """One worker and a deterministic time limit: identical results on every run."""
        return cls(
            time_limit_s=time_limit_s,
            num_workers=1,
            seed=seed,
            relative_gap=0.0,
            deterministic=True,
        )


@dataclass(frozen=True)
class SolveOutcome:
    """The result of one CP-SAT solve that found a solution.

    Attributes
    ----------
    status : str
        ``"OPTIMAL"`` (objective equals bound) or ``"FEASIBLE"`` (a solution with a
        gap, e.g. stopped by the time limit or ``relative_gap``).
    objective : float
        Objective value of the solution, in the model's integer units.
    bound : float
        Best proven bound on the objective, same units.
    gap : float
        Relative gap ``|bound - objective| / max(1, |objective|)``; 0 when optimal.
    wall_s : float
        Wall-clock time of the solve, in seconds.
    solver : cp_model.CpSolver
        The solver, to read variable values with :meth:`value`.
    """

    status: str
    objective: float
    bound: float
    gap: float
    wall_s: float
    solver: Any

    def value(self, variable: Any) -> int:
        """Value of an integer or Boolean variable (or linear expression) in the solution."""
        return int(self.solver.value(variable))

    def values(self, variables: Iterable[Any]) -> npt.NDArray[np.int64]:
        """Values of many variables at once, as an int64 array."""
        return np.fromiter((self.solver.value(var) for var in variables), dtype=np.int64)


def relative_gap(objective: float, bound: float) -> float:
    """Relative gap ``|bound - objective| / max(1, |objective|)`` (dimensionless)."""
    return abs(bound - objective) / max(1.0, abs(objective))


def scale(values: Iterable[float] | npt.ArrayLike, factor: float) -> npt.NDArray[np.int64]:
    """Multiply by ``factor`` and round to the nearest integer for CP-SAT coefficients.

    Parameters
    ----------
    values : array-like of float
        Values in their own unit (e.g. importance points, minutes).
    factor : float
        Integer units per value unit.  The rounding error of each coefficient is
        at most ``0.5 / factor`` value units, so pick ``factor`` so that the
        largest value maps to about 1e4-1e6.

    Returns
    -------
    numpy.ndarray of int64
        ``round(values * factor)``.

    Raises
    ------
    SafePassageError
        When a value is not finite or ``factor`` is not positive.
    """
    if isinstance(values, Iterator):
        values = list(values)
    array = np.asarray(values, dtype=float)
    if not factor > 0 or not math.isfinite(factor):
        raise SafePassageError(f"scale factor must be a positive finite number, got {factor!r}")
    if not np.all(np.isfinite(array)):
        raise SafePassageError("cannot scale non-finite values (NaN or inf) to integers")
    return np.rint(array * factor).astype(np.int64)


# CP-SAT's deterministic time runs slower than the clock on rostering models:
# measured on the 2-core machine, 1 unit took about 3.4 s of wall time
# (bench/pipeline.py, continuity round).  Limits given in seconds are scaled so
# a deterministic solve takes roughly as long as a timed one.
DETERMINISTIC_UNITS_PER_SECOND = 0.3


def _configure(solver: Any, settings: SolverSettings) -> None:
    params = solver.parameters
    params.random_seed = settings.seed
    params.num_workers = settings.num_workers
    if settings.deterministic:
        params.max_deterministic_time = settings.time_limit_s * DETERMINISTIC_UNITS_PER_SECOND
    else:
        params.max_time_in_seconds = settings.time_limit_s
    params.relative_gap_limit = settings.relative_gap
    params.linearization_level = settings.linearization_level
    params.log_search_progress = settings.log
    params.catch_sigint_signal = False  # Ctrl-C must end the run, not just this solve
    if settings.symmetry_in_lp:
        params.use_symmetry_in_lp = True
        params.keep_symmetry_in_presolve = True


def solve_within(model: cp_model.CpModel, settings: SolverSettings) -> SolveOutcome | None:
    """Like :func:`solve`, but return None when the time limit passes with no solution.

    For callers that hold a fallback solution (e.g. a greedy roster).
    """
    try:
        return solve(model, settings)
    except _NoSolutionInTimeError:
        return None


class _NoSolutionInTimeError(SafePassageError):
    """CP-SAT stopped at the time limit before finding any solution."""


def solve(model: cp_model.CpModel, settings: SolverSettings) -> SolveOutcome:
    """Solve ``model`` and map the CP-SAT status to a result or an exception.

    Parameters
    ----------
    model : cp_model.CpModel
        A built model with an objective (or none, for a feasibility problem).
    settings : SolverSettings
        Time limit, workers, seed, gap and linearization level.

    Returns
    -------
    SolveOutcome
        For status OPTIMAL or FEASIBLE.

    Raises
    ------
    InfeasibleError
        When CP-SAT proves the model infeasible; callers avoid this with pre-checks
        that name the conflicting inputs.
    SafePassageError
        When the model is invalid (with CP-SAT's validation message) or when the
        time limit passed before any solution was found.
    """
    solver = cp_model.CpSolver()
    _configure(solver, settings)
    started = time.perf_counter()
    status = _run_solver(solver, model)
    wall_s = time.perf_counter() - started
    name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        objective = float(solver.objective_value)
        bound = float(solver.best_objective_bound)
        gap = relative_gap(objective, bound)
        # CP-SAT also says OPTIMAL when it stops at relative_gap_limit; keep that apart.
        name = "OPTIMAL" if gap == 0.0 else "FEASIBLE"
        return SolveOutcome(name, objective, bound, gap, wall_s, solver)
    if status == cp_model.INFEASIBLE:
        raise InfeasibleError(
            "the CP-SAT model is infeasible although the pre-checks passed; "
            "please report this with the inputs"
        )
    if status == cp_model.MODEL_INVALID:
        raise SafePassageError(f"invalid CP-SAT model: {model.validate()}")
    raise _NoSolutionInTimeError(
        f"CP-SAT found no solution within {settings.time_limit_s:g} s "
        f"(status {name}); raise SolverSettings.time_limit_s"
    )


class _SolveCancelledError(SafePassageError):
    """A solve was asked to start after its :func:`run_in_threads` call was stopped."""


class _SolveGroup:
    """The CP-SAT solvers running in the threads of one :func:`run_in_threads` call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.solvers: set[Any] = set()
        self.stopped = False

    def check(self) -> None:
        if self.stopped:
            raise _SolveCancelledError("the solves were stopped")

    @contextmanager
    def running(self, solver: Any) -> Iterator[None]:
        with self.lock:
            self.check()
            self.solvers.add(solver)
        try:
            yield
        finally:
            with self.lock:
                self.solvers.discard(solver)

    def stop(self) -> None:
        """Stop every running solve and refuse new ones (call again until they end:
        a solve that has not built its wrapper yet ignores ``stop_search``)."""
        with self.lock:
            self.stopped = True
            solvers = list(self.solvers)
        for solver in solvers:
            solver.stop_search()


_LOCAL = threading.local()  # .group: the _SolveGroup of a run_in_threads worker thread


def _run_solver(solver: Any, model: cp_model.CpModel) -> Any:
    group: _SolveGroup | None = getattr(_LOCAL, "group", None)
    if group is not None:
        with group.running(solver):
            return solver.solve(model)
    if threading.current_thread() is threading.main_thread():
        # the main thread waits (interruptibly) while a helper thread solves
        return run_in_threads(lambda _: _run_solver(solver, model), [None], 1)[0]
    return solver.solve(model)  # a caller's own thread: its owner handles interrupts


def run_in_threads(
    func: Callable[[T], R],
    items: Sequence[T],
    threads: int,
    *,
    order: Sequence[int] | None = None,
) -> list[R]:
    """``[func(item) for item in items]`` on ``threads`` threads, ending promptly on interrupt.

    ``order`` gives the indices in the order to start them (default input order);
    results are in input order.  When waiting ends by an exception (Ctrl-C,
    SIGTERM turned into KeyboardInterrupt, or an error in one item), pending items
    are cancelled, CP-SAT solves running in the threads are stopped, solves not
    yet started refuse to start, and the threads are joined before the exception
    propagates.
    """
    group = _SolveGroup()

    def task(item: T) -> R:
        _LOCAL.group = group
        try:
            group.check()
            return func(item)
        finally:
            _LOCAL.group = None

    futures: dict[int, Future[R]] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, threads))
    try:
        for i in range(len(items)) if order is None else order:
            futures[i] = pool.submit(task, items[i])
        return [futures[i].result() for i in range(len(items))]
    except BaseException:
        with deferred_interrupts():  # a second Ctrl-C must not leave solver threads behind
            for future in futures.values():
                future.cancel()
            group.stop()
            while wait(futures.values(), timeout=_POLL_S).not_done:
                group.stop()
        raise
    finally:
        pool.shutdown(wait=True)
