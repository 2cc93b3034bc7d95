"""Hold Ctrl-C and SIGTERM back while a short critical section runs.

Renaming files into place or stopping solver threads must not be cut in half by a
second interrupt.  :func:`deferred_interrupts` records SIGINT/SIGTERM received
during its body and delivers them, to the handlers that were installed before, when
the body ends.  It does nothing outside the main thread (only the main thread may
change signal handlers, and only it runs them).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["INTERRUPT_SIGNALS", "deferred_interrupts", "raise_interrupt"]

INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """A signal handler that raises :class:`KeyboardInterrupt` (SIGTERM as Ctrl-C)."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Run the body with SIGINT/SIGTERM postponed until it ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[signal.Signals] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum))

    previous = {sig: signal.signal(sig, hold) for sig in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(received[0])
