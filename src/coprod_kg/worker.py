"""Run one piece of work in a forked child that can be stopped: a time limit, a memory limit, no
new files or sockets.

A SPARQL engine cannot be interrupted from Python, and a thread that has timed out keeps its core
and its memory until the process ends. So each query runs in a child made with ``fork`` (which
inherits the open store without copying it) and the parent waits for its answer through a pipe.
The store is opened in the parent, before any fork: an on-disk pyoxigraph store opens all its
files then (so the child, which may open none, reads through the inherited descriptors), and
RocksDB's own threads stay idle on a read-only store, so no lock of theirs is held at the fork. At the time limit the child is killed with SIGKILL and its memory goes back to the system at
once. In the child:

- the address space is capped (``RLIMIT_AS``) at what the parent uses plus ``memory_mb``, so a
  runaway ``ORDER BY`` fails inside the child rather than taking the machine;
- no new file descriptor can be opened (``RLIMIT_NOFILE`` is lowered to the lowest free
  descriptor), so neither engine can open a socket or a file whatever the query says: a last line
  of defence behind the refusal of SERVICE in ``query.refuse_unsafe``;
- SIGINT is left to its default, so Ctrl-C ends the child quietly while the parent tidies up.

The answer comes back pickled, so the work must return plain values. Where ``fork`` is missing
(Windows) the work runs in the calling thread with no limits but the row cap.

The server (``serve``) calls :func:`call` the same way as the CLI and ``build``.
"""

from __future__ import annotations

import os
import select
import sys
import time

# The C module behind ``signal``: its constants and signal(); ``signal`` itself imports enum,
# which costs a warm query 3 ms, and is imported only to name a signal that ended a worker.
import _signal as signal

try:  # the C pickler itself: pickle.py around it costs a warm query 2 ms, and a regex
    from _pickle import dumps as _dumps, loads as _loads
except ImportError:  # an interpreter without it
    from pickle import dumps as _dumps, loads as _loads

_HIGHEST_PROTOCOL = -1  # a negative protocol asks the pickler for its highest

# typing is for type checkers only: importing it costs a warm query 3 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CAN_FORK = hasattr(os, "fork")
DEFAULT_MEMORY_MB = 2048
_LONGEST_WAIT = 3600.0  # poll in slices so a huge timeout never overflows a system call


class LimitReached(Exception):
    """The work was stopped by one of its limits (CLI exit code 3)."""


class TimeLimitReached(LimitReached):
    def __init__(self, seconds: float):
        super().__init__(seconds)  # args hold the limit alone, so the error pickles back
        self.seconds = seconds

    def __str__(self) -> str:
        return f"stopped after {self.seconds:g} s without an answer"


class MemoryLimitReached(LimitReached):
    def __init__(self, megabytes: int | None):
        super().__init__(megabytes)
        self.megabytes = megabytes

    def __str__(self) -> str:
        limit = f" ({self.megabytes} MB beyond what was loaded)" if self.megabytes else ""
        return f"memory limit reached{limit}"


class RowLimitReached(LimitReached):
    def __init__(self, rows: int):
        super().__init__(rows)
        self.rows = rows

    def __str__(self) -> str:
        return f"row cap reached: the answer has more than {self.rows} rows"


class WorkerCrashed(Exception):
    """The child died without an answer, for a reason that is not a limit (an internal error)."""


def _address_space() -> int | None:
    """The bytes of virtual memory this process maps now, where /proc tells."""
    try:
        with open("/proc/self/statm", "rb") as stream:
            pages = int(stream.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _lowest_free_descriptor() -> int:
    for fd in range(3, 1 << 16):
        try:
            os.fstat(fd)
        except OSError:
            return fd
    return 1 << 16


def _limit_child(memory_mb: int | None, no_new_files: bool) -> None:
    try:
        import resource
    except ImportError:  # not a Unix that has it
        return
    if memory_mb:
        used = _address_space()
        if used is not None:
            cap = used + memory_mb * 1024 * 1024
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY:
                cap = min(cap, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    if no_new_files:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (_lowest_free_descriptor(), hard))


def _quiet_faulthandler() -> None:
    """Turn the fault handler off in a child, where one is on: it is on only once imported (by
    -X faulthandler, PYTHONFAULTHANDLER or a test runner), so a plain run pays no import."""
    handler = sys.modules.get("faulthandler")
    if handler is not None:
        handler.disable()


def _next_chunk(read_fd: int, deadline: float | None) -> bytes | None:
    """The next bytes the child wrote (b"" once it closed its end), or None if ``deadline`` (a
    time.monotonic() value; None for no limit) passes first."""
    while True:
        wait = _LONGEST_WAIT if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            return None
        ready, _, _ = select.select([read_fd], [], [], min(wait, _LONGEST_WAIT))
        if ready:
            return os.read(read_fd, 1 << 20)


def _child(write_fd: int, fn: Callable, args: tuple, kwargs: dict, memory_mb: int | None,
           no_new_files: bool) -> None:
    """Run in the forked child: do the work, send back the outcome, and never return."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _quiet_faulthandler()  # an abort at the memory limit is reported by the parent
        if not os.environ.get("COPROD_KG_DEBUG"):
            # The engine's own last words (e.g. Rust's "memory allocation failed") are noise to a
            # user; the parent turns the child's end into a message.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _limit_child(memory_mb, no_new_files)
        try:
            outcome = ("ok", fn(*args, **kwargs))
        except MemoryError:
            outcome = ("memory", None)
        except BaseException as error:  # sent to the parent, which raises it there
            outcome = ("error", error)
        try:
            payload = _dumps(outcome, protocol=_HIGHEST_PROTOCOL)
        except MemoryError:
            payload = _dumps(("memory", None))
        except Exception as error:  # an answer or error that cannot be pickled
            payload = _dumps(("crash", f"{type(error).__name__}: {error}"))
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def call(fn: Callable[..., Any], *args, timeout: float | None = None,
         memory_mb: int | None = DEFAULT_MEMORY_MB, no_new_files: bool = True,
         **kwargs) -> Any:
    """Run ``fn(*args, **kwargs)`` in a forked child and return what it returns.

    ``timeout`` is in seconds (None or infinity: no limit). An exception raised by ``fn`` is
    raised here. Raises TimeLimitReached, MemoryLimitReached, or WorkerCrashed when the child
    dies without an answer.
    """
    if timeout is not None and not timeout > 0:
        raise ValueError(f"a timeout must be a positive number of seconds, not {timeout!r}")
    if not CAN_FORK:
        return fn(*args, **kwargs)
    deadline = None if timeout is None or timeout == float("inf") else time.monotonic() + timeout
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_fd)
        _child(write_fd, fn, args, kwargs, memory_mb, no_new_files)
    os.close(write_fd)
    chunks: list[bytes] = []
    finished = False
    try:
        while True:
            chunk = _next_chunk(read_fd, deadline)
            if chunk is None:
                break
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            _kill(pid)
        _, status = os.waitpid(pid, 0)
    if not finished:
        raise TimeLimitReached(timeout)
    payload = b"".join(chunks)
    if payload:
        try:
            kind, value = _loads(payload)
        except Exception as error:
            raise WorkerCrashed(f"the worker's answer could not be read: {error}") from None
        if kind == "ok":
            return value
        if kind == "error":
            raise value
        if kind == "memory":
            raise MemoryLimitReached(memory_mb)
        raise WorkerCrashed(str(value))
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        # Rust aborts (SIGABRT) when an allocation fails; the kernel's OOM killer sends SIGKILL.
        if memory_mb and number in (signal.SIGABRT, signal.SIGKILL, signal.SIGSEGV):
            raise MemoryLimitReached(memory_mb)
        raise WorkerCrashed(f"the worker was ended by signal {number} "
                            f"({_signal_name(number)})")
    raise WorkerCrashed(f"the worker exited with status {os.waitstatus_to_exitcode(status)} "
                        "without an answer")


def _child_each(write_fd: int, fn: Callable, items: list, memory_mb: int | None,
                no_new_files: bool) -> None:
    """Run in the forked child of call_each: send each item's outcome as soon as it is known,
    each a length and a pickle, and never return."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _quiet_faulthandler()
        if not os.environ.get("COPROD_KG_DEBUG"):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _limit_child(memory_mb, no_new_files)
        for item in items:
            try:
                outcome = ("ok", fn(item))
            except MemoryError:
                outcome = ("memory", None)
            except BaseException as error:
                outcome = ("error", error)
            try:
                payload = _dumps(outcome, protocol=_HIGHEST_PROTOCOL)
            except MemoryError:
                payload = _dumps(("memory", None))
            except Exception as error:
                payload = _dumps(("crash", f"{type(error).__name__}: {error}"))
            view = memoryview(len(payload).to_bytes(8, "big") + payload)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
            if outcome[0] == "memory":
                break  # what is left of the address space is not to be trusted
    except BaseException:
        code = 70
    finally:
        os._exit(code)


class Stopped(Exception):
    """call_each stopped at one item: ``index`` is which, ``error`` the LimitReached (or
    WorkerCrashed) it stopped with; the outcomes of the items before it are in ``done``."""

    def __init__(self, index: int, error: BaseException, done: list):
        super().__init__(index, error)
        self.index, self.error, self.done = index, error, done


def call_each(fn: Callable[[Any], Any], items: list, timeout: float | None = None,
              memory_mb: int | None = DEFAULT_MEMORY_MB, no_new_files: bool = True) -> list:
    """Run ``fn(item)`` for every item, one after another, in one forked child, each with its
    own ``timeout`` (counted from the moment the one before it answered) under the same limits
    as :func:`call`; return one outcome per item: ``("ok", value)`` or ``("error", exception)``.

    One child instead of one per item saves a fork and its copy-on-write for each. An item past
    its time limit, or one that exhausts the memory limit or ends the child, stops the child:
    Stopped says which item and why, and carries the outcomes before it.
    """
    if timeout is not None and not timeout > 0:
        raise ValueError(f"a timeout must be a positive number of seconds, not {timeout!r}")
    if not items:
        return []
    if not CAN_FORK:
        outcomes = []
        for item in items:
            try:
                outcomes.append(("ok", fn(item)))
            except Exception as error:
                outcomes.append(("error", error))
        return outcomes
    limit = None if timeout is None or timeout == float("inf") else timeout
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_fd)
        _child_each(write_fd, fn, items, memory_mb, no_new_files)
    os.close(write_fd)
    outcomes: list = []
    buffer = bytearray()
    stopped: BaseException | None = None
    ended = False
    try:
        deadline = None if limit is None else time.monotonic() + limit
        while len(outcomes) < len(items):
            chunk = _next_chunk(read_fd, deadline)
            if chunk is None:
                stopped = TimeLimitReached(timeout)
                break
            if not chunk:
                ended = True
                break
            buffer += chunk
            while len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[:8], "big"):
                size = int.from_bytes(buffer[:8], "big")
                payload = bytes(buffer[8:8 + size])
                del buffer[:8 + size]
                try:
                    kind, value = _loads(payload)
                except Exception as error:
                    stopped = WorkerCrashed(f"the worker's answer could not be read: {error}")
                    break
                if kind == "memory":
                    stopped = MemoryLimitReached(memory_mb)
                    break
                if kind == "crash":
                    stopped = WorkerCrashed(str(value))
                    break
                outcomes.append((kind, value))
                if limit is not None:
                    deadline = time.monotonic() + limit
            if stopped is not None:
                break
    finally:
        os.close(read_fd)
        if len(outcomes) < len(items):
            _kill(pid)
        _, status = os.waitpid(pid, 0)
    if stopped is None and ended and len(outcomes) < len(items):
        number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if number is not None and memory_mb and number in (signal.SIGABRT, signal.SIGKILL,
                                                           signal.SIGSEGV):
            stopped = MemoryLimitReached(memory_mb)
        elif number is not None:
            stopped = WorkerCrashed(f"the worker was ended by signal {number} "
                                    f"({_signal_name(number)})")
        else:
            stopped = WorkerCrashed(f"the worker exited with status "
                                    f"{os.waitstatus_to_exitcode(status)} without an answer")
    if stopped is not None:
        raise Stopped(len(outcomes), stopped, outcomes)
    return outcomes


def _signal_name(number: int) -> str:
    import signal as named  # in the parent only: a child may not open the module's file

    try:
        return named.Signals(number).name
    except ValueError:
        return "unknown signal"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
