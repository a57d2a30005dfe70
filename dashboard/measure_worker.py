"""What runs inside the dashboard's measuring processes (dashboard.engine starts them and sends the jobs).

Measuring is mostly Python (neurokit2, pandas, scipy). On a worker thread it held the GIL against the page's
own script and every other session; in its own process it runs on another core. This module imports only
mets_core (mets_core.cache's LRU without torch), dashboard.threads and the page length from dashboard.plotting
(which imports no Streamlit), so a worker starts without Streamlit's page machinery.

A page's worker keeps the last few long recordings it was sent (the parent keeps the same list, in the same
order, and sends `None` for a recording the worker holds), so paging through a 30-minute 2-lead Holter sends
its 5 MB of signal once, not on every page (an ECG pickles its recorded leads only). The worker that finds a
whole recording's beats keeps nothing: each recording is searched once.
"""
from __future__ import annotations

from mets_core.cache import LRU

KEEP_RECORDINGS = 4
_kept: LRU = LRU(KEEP_RECORDINGS)         # key -> the recording (one process, one thread: no lock)


class NotKept(LookupError):
    """The worker no longer holds that recording (it was restarted): send it again."""


def _recording(key: str, ecg, keep: bool):
    if ecg is None:
        if key not in _kept:
            raise NotKept(key)
        return _kept.get(key)
    if keep:
        _kept.put(key, ecg)
    return ecg


def measure_job(key: str, ecg, keep: bool, start_s: float | None, seconds: float | None):
    """mets_core.measure of the recording `key` (sent now as `ecg`, or held since: `ecg` None)."""
    from mets_core.measure import measure
    ecg = _recording(key, ecg, keep)
    return measure(ecg) if start_s is None else measure(ecg, start_s=start_s, seconds=seconds)


def trend_job(key: str, ecg, keep: bool):
    """mets_core.measure.heart_rate_trend of the whole recording `key`."""
    from mets_core.measure import heart_rate_trend
    return heart_rate_trend(_recording(key, ecg, keep))


def start_process() -> None:
    """Run first in every measuring process: one BLAS thread (dashboard.threads; the process is one of one
    per core, and neurokit2's and scipy's small products gain nothing from more)."""
    from dashboard import threads
    threads.limit_blas()


def warm_up() -> bool:
    """Measure a page once and find the beats of a short recording once (the code paths, caches and memory of
    both), so that a clinician's first upload, and first long recording, do not pay for it."""
    from dashboard.plotting import PAGE_S
    from mets_core.measure import heart_rate_trend, measure
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(duration_s=70, fs=250, heart_rate=75, leads=("II", "V1"), seed=0)
    measure(ecg, seconds=PAGE_S)
    heart_rate_trend(ecg)
    return True
