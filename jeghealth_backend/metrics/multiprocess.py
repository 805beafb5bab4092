"""prometheus_client's multiprocess mode, with a bounded number of files.

A scrape reaches one process, so each process writes its figures to memory-mapped files in METRICS_DIR and
/metrics adds up all of them (`prometheus_client.multiprocess.MultiProcessCollector`). The library names a
process's files after its pid: every gunicorn worker recycled after GUNICORN_MAX_REQUESTS and every restart would
leave new files for each scrape to read, forever, and containers that share the folder reuse the same pids. Here
a process is named after a *slot* instead: the lowest `slot-N.lock` in METRICS_DIR that no living process holds an
exclusive `flock` on (the kernel drops it when the process dies). A new process takes over a dead one's files and
carries its counters on, so there are as many files as processes running at once and no figure goes backwards.
The library re-reads the name on every update and takes a new slot after a fork (Celery's pool children).
"""

from __future__ import annotations

import fcntl
import itertools
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector

_state: dict = {"pid": None, "slot": None, "lock": None, "directory": None}


def _claim_slot(directory: Path) -> str:
    for index in itertools.count():
        handle = open(directory / f"slot-{index}.lock", "a")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        # The handle inherited from a parent (after a fork) is dropped: the parent keeps its own lock.
        _state["lock"] = handle
        return f"slot{index}"
    raise AssertionError("unreachable")


def process_slot() -> str:
    """This process's name in the metric files' names, claimed on first use and again after a fork."""
    pid = os.getpid()
    if _state["pid"] != pid:
        _state["slot"] = _claim_slot(_state["directory"])
        _state["pid"] = pid
    return _state["slot"]


def enable(directory: str) -> None:
    """Switch this process to multiprocess mode in DIRECTORY; before any metric is created."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    _state["directory"] = path
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values.ValueClass = values.MultiProcessValue(process_identifier=process_slot)


def enabled() -> bool:
    return _state["directory"] is not None


def collector_registry() -> CollectorRegistry:
    """A registry of the figures of every process sharing the folder, for one scrape."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(_state["directory"]))
    return registry
