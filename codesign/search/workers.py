"""Stateful workers in step: one object per worker, built once, then called method by
method, every worker at the same time, the caller waiting for all of them.

The island model (`codesign.search.islands`) keeps one island per worker; the same calls
run it

- `InlineWorkers`: every object here, one after another (tests, debugging);
- `ProcessWorkers`: each object in a spawned local process, called through a pipe;
- `RayWorkers`: each object in a Ray actor (one CPU each) on a local Ray cluster started
  here, by `ray_session`, the one Ray starter of the package (the campaign's executor
  uses it too).

The arguments and results travel pickled between processes, and as deep copies for
`InlineWorkers`, so that an object never shares state with its caller whichever kind runs
it (the pipes and Ray carry only what this run's own process sent; nothing read from a
file is ever unpickled). A failing call is a
`RunError` naming the worker; a worker that dies is one too. The workers ignore Ctrl-C
(the caller decides what a stop means) and are ended when the block closes.

>>> with open_workers("inline", 2) as workers:
...     workers.start(list, [((1, 2),), ((3,),)])
...     workers.call("__len__", {0: (), 1: ()})
{0: 2, 1: 1}
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from codesign.errors import ConfigError, RunError

__all__ = ["WORKER_KINDS", "InlineWorkers", "ProcessWorkers", "RayWorkers", "Workers",
           "open_workers", "ray_session", "require_ray"]

#: The kinds `open_workers` opens.
WORKER_KINDS: tuple[str, ...] = ("inline", "processes", "ray")


class Workers(Protocol):
    """Objects built once (`start`) and called in step (`call`)."""

    def start(self, factory: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> None:
        """Build one object per worker: ``factory(*args[i])`` on worker ``i``."""
        ...

    def call(self, method: str, args: Mapping[int, tuple[Any, ...]]) -> dict[int, Any]:
        """``objects[i].method(*args[i])`` for every ``i`` in ``args``, all at once; the
        results by worker."""
        ...

    def close(self, now: bool = False) -> None:
        """End the workers (``now``: without letting them finish what they do)."""
        ...


def require_ray(option: str = "--ray") -> None:
    """`ConfigError` saying how to install Ray when it is missing."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f'{option} needs Ray: pip install "codesign[ray]"') from exc


@contextlib.contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """The ``ray`` module, connected: to a cluster already initialised in this process, or
    to a local one started here with ``cpus`` CPUs (``address`` None) or to an existing one
    (``address``, e.g. ``ray://head:10001`` or ``auto``); one started here is shut down at
    the end."""
    require_ray()
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        if address is None:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"


class InlineWorkers:
    """Every object in this process; calls run one worker after another."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def start(self, factory: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> None:
        self.objects = [factory(*copy.deepcopy(a)) for a in args]

    def call(self, method: str, args: Mapping[int, tuple[Any, ...]]) -> dict[int, Any]:
        return {i: copy.deepcopy(getattr(self.objects[i], method)(*copy.deepcopy(a)))
                for i, a in args.items()}

    def close(self, now: bool = False) -> None:
        self.objects = []


def _serve(conn: Any, factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A worker process: build the object, then answer calls until told to stop."""
    import signal

    # Ctrl-C, SIGTERM and SIGHUP sent to the whole process group are the caller's to handle:
    # it writes the run so far and then ends the workers itself (`close(now=True)`)
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        target = factory(*args)
        conn.send(("ok", None))
    except Exception as exc:
        conn.send(("error", _one_line(exc)))
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the caller went away
            return
        if message is None:
            return
        method, call_args = message
        try:
            conn.send(("ok", getattr(target, method)(*call_args)))
        except Exception as exc:
            conn.send(("error", _one_line(exc)))


class ProcessWorkers:
    """Each object in a spawned local process (no forked torch state)."""

    def __init__(self) -> None:
        self.processes: list[Any] = []
        self.conns: list[Any] = []

    def start(self, factory: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        for a in args:
            mine, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, factory, a), daemon=True)
            process.start()
            theirs.close()
            self.processes.append(process)
            self.conns.append(mine)
        for i in range(len(args)):
            self._answer(i)

    def _answer(self, i: int) -> Any:
        try:
            status, value = self.conns[i].recv()
        except (EOFError, OSError):
            self.processes[i].join(timeout=5)
            raise RunError(f"worker {i}: its process died (exit code "
                           f"{self.processes[i].exitcode})") from None
        if status == "error":
            raise RunError(f"worker {i}: {value}")
        return value

    def call(self, method: str, args: Mapping[int, tuple[Any, ...]]) -> dict[int, Any]:
        for i, a in args.items():
            self.conns[i].send((method, a))
        return {i: self._answer(i) for i in args}

    def close(self, now: bool = False) -> None:
        for conn, process in zip(self.conns, self.processes, strict=True):
            if not now and process.is_alive():
                with contextlib.suppress(OSError):
                    conn.send(None)
                process.join(timeout=10)
            if process.is_alive():
                process.kill()  # the workers ignore SIGTERM (`_serve`)
                process.join(timeout=10)
            conn.close()
        self.processes, self.conns = [], []


class _Hosted:
    """A Ray actor holding one object (`ready` says why it could not be built: Ray's own
    message for a failing actor constructor is a page of traceback)."""

    def __init__(self, factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.error = ""
        try:
            self.target = factory(*args)
        except Exception as exc:
            self.error = _one_line(exc)

    def ready(self) -> str:
        return self.error

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.target, method)(*args)


class RayWorkers:
    """Each object in a Ray actor of one CPU (and ``gpu_share`` of a GPU), on a local
    cluster of ``cpus`` CPUs started here (`ray_session`) or the one this process is
    connected to already."""

    def __init__(self, cpus: int | None = None, gpu_share: float = 0.0) -> None:
        require_ray()
        self.cpus, self.gpu_share = cpus, gpu_share
        self.actors: list[Any] = []
        self._session: contextlib.ExitStack | None = None

    def start(self, factory: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> None:
        self._session = contextlib.ExitStack()
        ray = self._session.enter_context(ray_session(cpus=self.cpus))
        # an actor without a GPU share sees no GPU at all (Ray hides it)
        host = ray.remote(num_cpus=1, num_gpus=self.gpu_share, max_restarts=0)(_Hosted)
        self.actors = [host.remote(factory, a) for a in args]
        errors = self._get({i: actor.ready.remote() for i, actor in enumerate(self.actors)})
        for i, error in errors.items():
            if error:
                raise RunError(f"worker {i}: {error}")

    def _get(self, refs: Mapping[int, Any]) -> dict[int, Any]:
        import ray

        out = {}
        for i, ref in refs.items():
            try:
                out[i] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the object raised
                raise RunError(f"worker {i}: {_one_line(exc.cause or exc)}") from None
            except ray.exceptions.RayError as exc:  # the actor died
                raise RunError(f"worker {i}: its Ray actor failed ({_one_line(exc)})") from None
        return out

    def call(self, method: str, args: Mapping[int, tuple[Any, ...]]) -> dict[int, Any]:
        return self._get({i: self.actors[i].call.remote(method, *a) for i, a in args.items()})

    def close(self, now: bool = False) -> None:
        import ray

        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []
        if self._session is not None:
            self._session.close()
            self._session = None


@contextlib.contextmanager
def open_workers(kind: str, n: int, gpu: bool = False) -> Iterator[Workers]:
    """``n`` workers of ``kind`` (one of `WORKER_KINDS`), ended when the block closes (at
    once when it ends by an exception or Ctrl-C); ``gpu``: they share this machine's GPU
    (Ray actors get ``1 / n`` of it each)."""
    if kind not in WORKER_KINDS:
        raise ConfigError(f"unknown worker kind {kind!r}; choose one of "
                          f"{', '.join(WORKER_KINDS)}")
    workers: Workers
    if kind == "inline":
        workers = InlineWorkers()
    elif kind == "processes":
        workers = ProcessWorkers()
    else:
        workers = RayWorkers(cpus=n, gpu_share=1 / n if gpu else 0.0)
    try:
        yield workers
    except BaseException:
        workers.close(now=True)
        raise
    workers.close()
