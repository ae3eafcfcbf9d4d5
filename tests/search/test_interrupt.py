"""`interrupt_on_signals`: SIGTERM becomes KeyboardInterrupt inside, handlers restored after."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from codesign.search.interrupt import STOP_SIGNALS, interrupt_on_signals

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix",
                                reason="POSIX signals")


def test_sigterm_raises_keyboard_interrupt_inside_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    assert signal.SIGTERM in STOP_SIGNALS
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), interrupt_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs between bytecodes, right away
            pass
        pytest.fail("SIGTERM did not interrupt")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_callers_own_or_ignored_handler_is_left_alone():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *_: seen.append("mine"))
    try:
        with interrupt_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**5):
                pass
        assert seen == ["mine"]
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with interrupt_on_signals():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_off_the_main_thread_nothing_changes():
    errors = []

    def worker():
        try:
            with interrupt_on_signals():
                pass
        except Exception as exc:  # signal.signal would raise ValueError here
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors == []


@pytest.fixture
def sigint_default():
    """SIGINT as Python sets it up from a terminal (a test run started in the background
    inherits an ignored SIGINT, which `deferred_signals` rightly leaves alone)."""
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, saved)


def test_deferred_signals_finish_the_block_then_a_second_signal_stops_it(sigint_default):
    from codesign.search.interrupt import deferred_signals

    before = signal.getsignal(signal.SIGINT)
    with deferred_signals() as received:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**5):
            pass
        finished = True  # the first Ctrl-C did not stop the block
    assert finished and received == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt, match="second SIGTERM"), \
            interrupt_on_signals(), deferred_signals() as received:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):
            pass
        pytest.fail("a second signal did not interrupt")
