"""How many threads the dashboard's numerical libraries use: one each, by default.

A dashboard serves many small requests at once (one ECG, a few phrases, a search of the report corpus),
each on its own session thread, and its measuring processes run beside it. Libraries that split every small
operation over all cores then spin their worker threads against each other and against the other sessions.
Measured on the 2-core reference machine under load: embedding 3 new phrases took ~2 s with torch's 2
threads, 0.18 s with 1; a corpus search (11,803 reports x 128 dimensions, one matrix-vector product) 8-16 ms
with OpenBLAS's 2 threads, 0.1 ms with 1, and the server's CPU per upload fell by ~20 % (benchmarks/load.py
--clients protocol).

``METS_THREADS`` sets the number for torch's intra-op work and for numpy/scipy's BLAS; 0 leaves the
libraries' own defaults (as the tests do, which run the app inside pytest's process).
"""
from __future__ import annotations

import os

THREADS_ENV = "METS_THREADS"


def wanted() -> int:
    """The number of threads asked for by ``METS_THREADS`` (default 1; 0: leave the defaults)."""
    try:
        return max(0, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        return 1


def limit_blas() -> None:
    """numpy/scipy's BLAS in this process (threadpoolctl: OpenBLAS, MKL or BLIS, whichever is loaded)."""
    n = wanted()
    if n <= 0:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:      # an environment set up before it was a dependency: slower under load, not broken
        return
    threadpool_limits(n, user_api="blas")


def limit_torch() -> None:
    """torch's intra-op threads in this process, and the BLAS's."""
    n = wanted()
    if n > 0:
        import torch
        torch.set_num_threads(n)
        limit_blas()
