"""Running calls at the same moment from several threads, for the race tests on PostgreSQL."""

from __future__ import annotations

import threading

from django.db import connections


def run_together(*calls) -> list:
    """Run CALLS in parallel threads released at the same moment; answers their results (or exceptions).

    Each thread uses its own database connection (Django's are per thread) and closes it when done.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - handed back to the test, which asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
