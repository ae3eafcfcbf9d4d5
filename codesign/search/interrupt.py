"""Stop a run gracefully on SIGTERM (and SIGHUP) as on Ctrl-C.

Python turns SIGINT into `KeyboardInterrupt`, which the run loop catches to write the
front found so far. A job scheduler, ``timeout`` or ``kill`` sends SIGTERM instead, and a
closed terminal SIGHUP, whose default action ends the process on the spot: results since
the last checkpoint would be lost and ``run.json`` would still say "running".
`interrupt_on_signals` raises `KeyboardInterrupt` for those signals too, for the duration
of a run, and restores the previous handlers afterwards. `deferred_signals` holds a first
stop signal back while the final results are written, so that they are written as a set.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["STOP_SIGNALS", "deferred_signals", "interrupt_on_signals"]

#: Signals that stop a run like Ctrl-C (those that exist on this platform).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


@contextlib.contextmanager
def interrupt_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, ``signals`` raise `KeyboardInterrupt` in the main thread.

    Only signals whose handler is the default one are taken over (a signal the caller
    ignores, e.g. SIGHUP under ``nohup``, stays ignored; one the caller handles stays
    theirs). Off the main thread, where Python cannot install handlers, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[signal.Signals, object] = {}
    try:
        for sig in signals:
            if signal.getsignal(sig) is signal.SIG_DFL:
                saved[sig] = signal.signal(sig, _raise_interrupt)
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _takeable(handler: object) -> bool:
    return handler in (signal.SIG_DFL, signal.default_int_handler, _raise_interrupt)


@contextlib.contextmanager
def deferred_signals(signals: tuple[signal.Signals, ...] = (signal.SIGINT, *STOP_SIGNALS)
                     ) -> Iterator[list[int]]:
    """Within the block, a first stop signal is only recorded (the yielded list gets its
    number) and a second one raises `KeyboardInterrupt`: the block finishes what it writes
    unless the user insists. Handlers set by the caller (other than the defaults and
    `interrupt_on_signals`'s) are left alone; off the main thread nothing changes.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def record(signum: int, frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt(f"stopped by a second {signal.Signals(signum).name}")

    saved: dict[signal.Signals, object] = {}
    try:
        for sig in signals:
            if _takeable(signal.getsignal(sig)):
                saved[sig] = signal.signal(sig, record)
        yield received
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
