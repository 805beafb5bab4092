"""A Celery worker whose chunks are slow, for the kill tests only: `python tests/slow_chunk_worker.py SECONDS
<celery arguments…>` runs `celery <arguments>` with every chunk's transaction held open SECONDS after its readings
are inserted, so that a SIGKILL lands inside a chunk (its rows inserted but not committed).

The delay is patched in here, before the worker starts (the pool's children are forked from this process), so that
production code carries no sleeping hook (issue 21, point 7).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> None:
    delay, celery_arguments = float(sys.argv[1]), sys.argv[2:]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from iot_devices import ingestion

    store = ingestion.chunk_store

    def slow_store(*args, **kwargs):
        stored = store(*args, **kwargs)
        time.sleep(delay)
        return stored

    ingestion.chunk_store = slow_store
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", *celery_arguments]
    celery_main()


if __name__ == "__main__":
    main()
