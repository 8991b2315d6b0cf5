"""The cyclic garbage collector, off while a scan runs."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Extraction, linking, rules and rendering allocate millions of objects (syntax
    trees, facts, findings) and free them by reference counting: nothing they build is
    cyclic. The cyclic collector, triggered by the allocations alone, would walk the
    growing heap again and again (a third of a cold scan of 100k lines). Worker
    processes forked inside inherit this; the collector is back on afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
