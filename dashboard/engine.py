"""The server-wide model and report index, and every call into them (one per server, shared by sessions).

- The engine (METS model + report index) is loaded once per server with `st.cache_resource`, keyed by the
  weights folder and the modification times and sizes of its config, weights and index files (new weights in
  place -> reloaded; a failure is remembered as a message, not raised, so the rest of the page keeps working,
  until one of those files changes).
- ECG embeddings and prompt embeddings are cached inside `METS` (by `ECG.content_hash()` and by phrase), so
  editing prompts re-ranks without re-embedding the ECG. Model calls hold one lock: Streamlit serves
  sessions from threads and the model's caches are shared.
- Measurements are cached here too, per content hash: they depend on the signal only, not on the session.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
import time
import types
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard import threads
from mets_core.cache import LRU
from mets_core.checkpoint import CONFIG_FILE, WEIGHTS_ENV
from mets_core.ecg import ECG
from mets_core.index import INDEX_DIR, INDEX_FILE

WARMUP_PROMPTS = ("sinus rhythm",)


@dataclass
class Engine:
    weights_dir: Path
    model: object | None = None          # mets_core.METS
    index: object | None = None          # mets_core.ReportIndex
    error: str | None = None             # why there is no model
    index_error: str | None = None       # why there is no retrieval
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_card(self) -> str | None:
        path = self.weights_dir / "MODEL_CARD.md"
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except OSError:
            return None

    @property
    def version(self) -> str:
        """What model made the ranking, as printed on the report: its encoders, the hash of its weights, where
        they were loaded from, and its validation AUC (`mets info` prints the same in full)."""
        if self.model is None:
            return ""
        info = self.model.info()
        auc = (info.get("calibration") or {}).get("superclass_macro_auc")
        return (f"METS, ECG encoder {info['model']['encoder']} + text encoder {info.get('text_model')} "
                f"(frozen), {info.get('embedding_dim')}-d · "
                + (f"validation superclass macro AUC {auc:.3f}" if isinstance(auc, (int, float)) else "not validated")
                + f" · weights sha256 {str(info.get('weights_sha256') or '')[:12]}"
                + f" from {info.get('source') or self.weights_dir}")

    def template_set(self) -> str | None:
        """The name of the model's active prompt template set (shown beside the phrase box)."""
        return None if self.model is None else self.model.template_set

    def templates(self, kind: str = "diagnostic") -> list[str]:
        """The templates each typed phrase is read through, e.g. "ECG showing {label}."."""
        from mets_core.prompts import ensemble
        return [] if self.model is None else ensemble(self.model.templates, kind)

    # ------------------------------------------------------------------ model calls (one lock)

    def rank(self, ecg: ECG, prompts: list[str]):
        with self.lock:
            return self.model.rank(ecg, prompts)

    def search(self, query, k: int):
        """The k nearest corpus reports, one per record and per wording, reports near every ECG ranked down
        (ReportIndex.search's `distinct` and `rank_hubs_down`)."""
        with self.lock:
            return self.index.search(self.model, query, k, distinct=True, rank_hubs_down=True)

    def known(self, phrases: list[str]) -> list[bool | None]:
        """METS.known: whether each phrase is close to what the model learned (None: the weights cannot say)."""
        with self.lock:
            return self.model.known(phrases)

    def saliency(self, ecg: ECG, prompt: str):
        with self.lock:
            return self.model.saliency(ecg, prompt)


def weights_dir() -> Path:
    from mets_core.checkpoint import default_weights_dir   # honours $METS_WEIGHTS
    return default_weights_dir()


def _stamp(path: Path) -> tuple[int, int]:
    """(modification time in ns, size) of a file; (0, 0) when it is missing."""
    try:
        info = path.stat()
        return info.st_mtime_ns, info.st_size
    except OSError:
        return 0, 0


def _weights_stamp(folder: Path) -> tuple:
    """What tells one checkpoint (and its index) in `folder` from another: every file a load reads the weights,
    the index and the knowledge (percentile reference, validation AUCs) from. The weights file counts, not only the config: a checkpoint copied over the old one file
    by file (config.json first) was loaded half-copied, refused (its weights_sha256 did not match yet), and that
    refusal was kept until the server restarted, the config's time no longer changing."""
    from mets_core.checkpoint import WEIGHTS_FILE
    from mets_core.index import EMBEDDINGS_FILE
    from mets_core.knowledge import KNOWN_PHRASINGS_FILE, REFERENCE_FILE, WEIGHTS_KNOWLEDGE_FILE
    return tuple(_stamp(folder / name) for name in (CONFIG_FILE, WEIGHTS_FILE, Path(INDEX_DIR) / INDEX_FILE,
                                                      Path(INDEX_DIR) / EMBEDDINGS_FILE, WEIGHTS_KNOWLEDGE_FILE,
                                                      REFERENCE_FILE, KNOWN_PHRASINGS_FILE))


def get_engine() -> Engine:
    folder = weights_dir()
    return _load_engine(str(folder), _weights_stamp(folder))


@st.cache_resource(show_spinner=False, max_entries=1)   # replaced weights: drop the old engine
def _load_engine(folder: str, stamp: tuple) -> Engine:
    from mets_core.checkpoint import WEIGHTS_FILE, CheckpointError, NoCheckpointError
    from mets_core.pipeline import METS

    threads.limit_torch()
    engine = Engine(Path(folder))
    try:
        model = METS.from_pretrained(folder)
        model.embed_prompts(list(WARMUP_PROMPTS))      # the prompt path warm (known phrase: shipped text cache)
        engine.model = model
        # not a daemon: killed inside the text model's native code at interpreter exit, it aborts the process
        threading.Thread(target=_warm_up_model, args=(engine,), daemon=False, name="mets-warm-up").start()
    except NoCheckpointError:
        engine.error = (f"No model weights at {folder}. Put a METS checkpoint there ({WEIGHTS_FILE} + "
                        f"{CONFIG_FILE}) or set ${WEIGHTS_ENV} to a checkpoint folder, then reload the page.")
        return engine
    except CheckpointError as err:
        engine.error = f"The model weights at {folder} could not be loaded: {err}"
        return engine
    except Exception as err:   # e.g. the text model is not installed
        engine.error = f"The model at {folder} could not be started: {type(err).__name__}: {err}"
        return engine
    index_dir = engine.weights_dir / INDEX_DIR
    if not index_dir.is_dir():
        engine.index_error = (f"These weights ship no report index ({index_dir} is missing), so there is "
                              f"nothing to retrieve from.")
        return engine
    try:
        from mets_core.index import ReportIndex
        engine.index = ReportIndex.load(index_dir, model=model)
    except Exception as err:
        engine.index_error = f"The report index at {index_dir} could not be loaded: {err}"
    _freeze_loaded_objects()
    return engine


def _freeze_loaded_objects() -> None:
    """Move everything loaded so far (torch, the model, the index, later the text model) out of the garbage
    collector's reach: they live as long as the server. A full collection walked ~560,000 such objects,
    ~0.35-0.5 s with the GIL held, stalling every session whenever Python decided to run one."""
    gc.collect()
    gc.freeze()


def _warm_up_model(engine: Engine) -> None:
    """In the background once the model is loaded: what a clinician's first upload and first phrases would
    otherwise pay for."""
    _embed_simulated_ecg(engine)
    _embed_presets(engine)


def _embed_simulated_ecg(engine: Engine) -> None:
    """Embed a synthetic 12-lead ECG at 500 Hz once: the first upload on a freshly started server then finds
    the resampling code imported (scipy.signal, ~0.5 s) and the ECG encoder run once. A fresh server's first
    upload took 1.4 s to its full page, later ones 0.35 s (2-core machine, server profile)."""
    from mets_core.simulate import simulate_ecg
    try:
        ecg = simulate_ecg(duration_s=10.0, fs=500, seed=0, name="warm-up")
        with engine.lock:
            engine.model.embed_ecg(ecg)
    except Exception:   # a warm-up only: the first upload embeds (and reports) on demand
        return


def _embed_presets(engine: Engine, chunk: int = 6) -> None:
    """Embed every preset prompt once, in the background and a few at a time (the lock is released
    between chunks, so a clinician's request never waits long): preset switches then cost no encoding."""
    from mets_core.prompts import PRESETS
    try:
        # the frozen text model (~6 s to load), outside the lock: known phrases rank from the weights' text
        # cache meanwhile, and the first phrase the model has not seen then costs no load
        engine.model.text_encoder
        _freeze_loaded_objects()
    except Exception:   # reported when a phrase needs it
        pass
    phrases = list(dict.fromkeys(p for ps in PRESETS.values() for p in ps))
    for i in range(0, len(phrases), chunk):
        try:
            with engine.lock:
                engine.model.embed_prompts(phrases[i:i + chunk])
        except Exception:   # a warm-up only: ranking will embed (and report) on demand
            return


# ------------------------------------------------------------------------ measurements (per content hash)

LONG_RECORDING_S = 60.0      # longer recordings stay in their measuring process between pages


def _process_context():
    """Measuring processes are forked from a small server process that imported the measuring code once
    (fast to start, and the imports are paid once, not per process); never forked from the dashboard's own
    process, which runs torch's and Streamlit's threads. Where there is no forkserver (Windows), spawned."""
    import multiprocessing
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload(["dashboard.measure_worker", "mets_core.measure", "neurokit2"])
    return ctx


@contextlib.contextmanager
def _plain_main():
    """Streamlit installs the app script as the module __main__ (and leaves it there), and multiprocessing
    runs the parent's __main__ again in every process it starts: each measuring process ran the whole app
    (torch, transformers, Streamlit: ~390 MB instead of ~40 MB). While a process starts, __main__ is a
    plain module with nothing to run."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class MeasuringStopped(RuntimeError):
    """A measurement did not come back: its process died (twice: it is restarted once) or stopped working."""


# not "reload the page": a reload starts a new session, without the ECGs this one has open
MEASURED_AGAIN = ("It is measured again when the page is next drawn (open another page and come back); the "
                  "tracing, ranking and similar reports do not depend on it.")


STALLED_S = 120.0    # a measuring process that finishes no job for this long while jobs wait is stopped: the
                     # longest job, a minute of a 12-lead at 10 kHz, took 17 s on a loaded 2-core machine (the
                     # longest whole-recording search, a 24 h 2-lead Holter, the most an upload holds: ~10 s)

# what each job is, and what follows its stop, in the words of "... had not finished after 120 s, so it was
# stopped. ...". The overview is not searched again: its page asks for it again at once (the page's note
# reruns the page when the search ends, failed or not), and a search that stalled once held the overviews of
# every session for another STALLED_S each time.
STALLED_WORDS = {
    "measure_job": ("Measuring this ECG", MEASURED_AGAIN),
    "trend_job": ("Finding the beats of the whole recording",     # under "The heart-rate overview: "
                  "It is not tried again for this recording until the dashboard is restarted; the pages, their "
                  "measurements, ranking and similar reports do not depend on it."),
}


def stalled(job: str) -> "MeasuringStopped":
    """What a page is told when `job` (a measure_worker job) was stopped for finishing nothing for STALLED_S."""
    what, then = STALLED_WORDS[job]
    return MeasuringStopped(f"{what} had not finished after {STALLED_S:.0f} s, so it was stopped. {then}")


def _kill_processes(pool) -> None:
    """Kill the processes of a ProcessPoolExecutor: its futures then fail with BrokenProcessPool, as when a
    process dies. Python 3.14 has `kill_workers`; before it the processes are only in `_processes`."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):      # gone already
            process.kill()


class _Worker:
    """One measuring process (dashboard.measure_worker) and the long recordings it holds (if it keeps them)."""

    def __init__(self, keeps_recordings: bool = True):
        from dashboard import measure_worker
        self._keeps = keeps_recordings
        self._pool = None
        self._started = False                   # has the pool started its process
        # the same recordings (keys only), in the same order, as the process keeps
        self._kept: LRU[str, bool] = LRU(measure_worker.KEEP_RECORDINGS)
        # the jobs sent to the process and not finished, in the order it runs them (one process: the first runs)
        self._waiting: dict[object, None] = {}
        self._progress_at = time.monotonic()    # when the process last finished a job (or was given one, idle)
        # re-entrant: a future already done when its callback is added runs `_on_done` inside `submit`
        self._lock = threading.RLock()

    def _new_pool(self) -> None:
        from concurrent.futures import ProcessPoolExecutor

        from dashboard import measure_worker
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_process_context(),
                                         initializer=measure_worker.start_process)
        self._kept.clear()                      # a new process holds nothing
        self._started = False
        self._progress_at = time.monotonic()

    def _submit(self, key: str | None, fn, *args):
        if self._pool is None:
            self._new_pool()
        pool = self._pool
        if self._started:
            future = pool.submit(fn, *args)
        else:
            with _plain_main():                     # the first submit starts the process
                future = pool.submit(fn, *args)
            self._started = True
        if not self._waiting:
            self._progress_at = time.monotonic()
        self._waiting[future] = None
        future.add_done_callback(lambda f: self._on_done(f, pool, key))
        return future

    def submit(self, job, key: str, ecg: ECG | None = None, *args):
        """Run measure_worker.`job`(key, ecg or None if held, keep, *args) in this worker's process."""
        from concurrent.futures.process import BrokenProcessPool

        from dashboard import measure_worker
        with self._lock:
            for attempt in (0, 1):
                if self._pool is None:
                    self._new_pool()            # first: what the new process holds decides what is sent
                keep = self._keeps and ecg is not None and ecg.duration > LONG_RECORDING_S
                send = None if keep and self._kept.get(key) else ecg
                try:
                    future = self._submit(key, getattr(measure_worker, job), key, send, keep, *args)
                except BrokenProcessPool:      # the process died (e.g. out of memory): start a new one
                    self._drop(self._pool)
                    if attempt:
                        raise
                    continue
                if keep:
                    self._kept.put(key, True)
                return future

    def _drop(self, pool) -> None:
        """Forget a broken pool (the next job starts a new process); not a newer one already started."""
        if pool is not None and pool is self._pool:
            self._pool = None                    # a broken pool's own thread ends its processes

    def _on_done(self, future, pool, key: str | None) -> None:
        from concurrent.futures.process import BrokenProcessPool

        from dashboard.measure_worker import NotKept
        err = future.exception() if not future.cancelled() else None
        with self._lock:
            self._waiting.pop(future, None)
            self._progress_at = time.monotonic()
            if isinstance(err, (NotKept, BrokenProcessPool)) and pool is self._pool and key is not None:
                self._kept.pop(key, None)        # sent again next time
            if isinstance(err, BrokenProcessPool):
                self._drop(pool)                 # a late failure of an older process leaves the new one alone

    def stop_if_stalled(self):
        """If the process has finished nothing for STALLED_S while jobs wait (stuck, or stopped): kill it, so
        that its jobs fail as if it had died and the next job starts a new one; the future of the job it was
        running, else None."""
        with self._lock:
            if self._pool is None or not self._waiting or time.monotonic() - self._progress_at < STALLED_S:
                return None
            running = next(iter(self._waiting))
            _kill_processes(self._pool)
            return running

    def warm_up(self):
        from dashboard import measure_worker
        with self._lock:
            return self._submit(None, measure_worker.warm_up)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def _failed(future) -> bool:
    """A finished job that gave no result (an error, or cancelled when its process was shut down)."""
    return future.done() and (future.cancelled() or future.exception() is not None)


def _stopped_for_good(future) -> bool:
    """A whole-recording job stopped for stalling (``_Measurements._stop_if_stalled``): not sent again."""
    return future.done() and not future.cancelled() and isinstance(future.exception(), MeasuringStopped)


class _Measurements:
    """mets_core.measure and heart_rate_trend results shared by all sessions, keyed by content hash (and
    stretch), computed in measuring processes: a page asks for them early (`start`) and takes them when it
    draws them (`result`), so the measurement runs on another core while the page embeds, ranks and
    retrieves. Each recording always goes to the same process (by its hash), which keeps it if it is long.
    The beats of whole recordings (the overview) are found in a process of their own (started and warmed with
    the others): a day-long Holter takes ~9 s, and queued in the same process it held up the measuring of
    every page read meanwhile ("Next ▶" then took 7.6 s instead of 0.5 s).

    A process that dies (out of memory, killed) fails the jobs it had; each is sent once more to a new process
    before its page is told. A page that waits checks that its process still finishes jobs (without a limit:
    every POLL_S; with one, a moment at a time as the overview's note asks: at each ask), and stops one that
    has finished none for STALLED_S (`_stop_if_stalled`); a stopped whole recording is not searched again."""

    MAX_ENTRIES = 512
    WHOLE_RECORDING_JOBS = ("trend_job",)
    POLL_S = 1.0

    def __init__(self, workers: int = 2):
        self._workers = [_Worker() for _ in range(max(1, workers))]
        self._whole_recordings = _Worker(keeps_recordings=False)     # each is sent once, for one job
        self._futures: LRU[tuple, object] = LRU(self.MAX_ENTRIES)
        self._job_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # future -> its key in _futures
        self._lock = threading.Lock()

    def _worker(self, job: str, key: str) -> _Worker:
        import zlib
        if job in self.WHOLE_RECORDING_JOBS:
            return self._whole_recordings
        return self._workers[zlib.crc32(key.encode()) % len(self._workers)]

    def start(self, job: str, key: str, ecg: ECG, *args):
        k = (job, key, *args)
        with self._lock:
            future = self._futures.get(k)
            if future is None or (_failed(future) and not _stopped_for_good(future)):     # a failure is retried
                future = self._worker(job, key).submit(job, key, ecg, *args)
                self._futures.put(k, future)
                self._job_of[future] = k
        return future

    def _stop_if_stalled(self, job: str, key: str, future) -> None:
        """The one stall check of every wait, with or without a limit: stop the process of (`job`, `key`) if it
        has finished nothing for STALLED_S (``_Worker.stop_if_stalled``), and raise ``stalled`` if it was
        running `future`. A whole-recording job it was running, whoever asked, is remembered as stopped."""
        running = self._worker(job, key).stop_if_stalled()
        if running is None:
            return
        k = self._job_of.get(running)
        if k is not None and k[0] in self.WHOLE_RECORDING_JOBS:
            from concurrent.futures import Future
            kept = Future()
            kept.set_exception(stalled(k[0]))
            with self._lock:
                if self._futures.get(k) is running:
                    self._futures.put(k, kept)
        if running is future:
            raise stalled(job)

    def _wait(self, job: str, key: str, future):
        """The future's result, waiting as long as its process keeps finishing jobs."""
        from concurrent.futures import TimeoutError as NotYet
        while True:
            try:
                return future.result(self.POLL_S)
            except NotYet:
                self._stop_if_stalled(job, key, future)

    def result(self, job: str, key: str, ecg: ECG, *args, wait_s: float | None = None):
        """The job's result; with `wait_s`, None if it is not done within that many seconds (it runs on)."""
        from concurrent.futures import TimeoutError as NotYet
        from concurrent.futures.process import BrokenProcessPool

        from dashboard.measure_worker import NotKept
        for attempt in (0, 1, 2):
            future = self.start(job, key, ecg, *args)
            if _stopped_for_good(future):
                raise stalled(job)               # a new exception each time: a raised one keeps its traceback
            try:
                return future.result(wait_s) if wait_s is not None else self._wait(job, key, future)
            except NotYet:
                # a page that waits a moment at a time (the overview's note, every second) is the only one
                # waiting on its process: the stall check is its too
                self._stop_if_stalled(job, key, future)
                return None
            # NotKept: the process was restarted meanwhile, send the recording again; BrokenProcessPool: the
            # process died (perhaps over another page's job), measure in a new one
            except (NotKept, BrokenProcessPool) as err:
                if attempt == 2:
                    raise MeasuringStopped(
                        f"The process measuring this ECG stopped before it finished, also when started afresh (it "
                        f"may have run out of memory). {MEASURED_AGAIN}") from err

    def warm_up(self) -> None:
        for worker in [*self._workers, self._whole_recordings]:
            worker.warm_up()

    def close(self) -> None:
        for worker in [*self._workers, self._whole_recordings]:
            worker.close()


MEASURING_PROCESSES_ENV = "METS_MEASURING_PROCESSES"


def measuring_processes() -> int:
    """How many measuring processes for pages: ``METS_MEASURING_PROCESSES``, else one per core beside the
    dashboard's own (one on the 2-core reference machine), at most 4. (One more, started with them, finds the
    beats of whole recordings.)"""
    try:
        return max(1, int(os.environ[MEASURING_PROCESSES_ENV]))
    except (KeyError, ValueError):
        return min(4, max(1, (os.cpu_count() or 2) - 1))


_MEASUREMENTS = _Measurements(workers=measuring_processes())
atexit.register(_MEASUREMENTS.close)     # before the interpreter tears its modules down under the pools


@st.cache_resource(show_spinner=False)
def warm_up_measurements() -> bool:
    """Start the measuring processes at server start (import neurokit2, measure once), not on a clinician's
    first upload; returns at once."""
    _MEASUREMENTS.warm_up()
    return True


def start_measuring(key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None) -> bool:
    """Begin measuring the ECG whose content hash is `key` (all of it, or `seconds` from `start_s`); True if
    it is measured already (read ahead, or opened before)."""
    future = _MEASUREMENTS.start("measure_job", key, ecg, start_s, seconds)
    return future.done() and not _failed(future)


def measurements(key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None):
    """mets_core.measure for the ECG whose content hash is `key` (all of it, or `seconds` from `start_s`);
    computed once per server, raising what measure raised."""
    return _MEASUREMENTS.result("measure_job", key, ecg, start_s, seconds)


SUMMARY_S = 60.0                 # a long recording's summary measures its intervals on a minute ...
SUMMARY_MINUTES_TRIED = 5        # ... the first of these whose QRS can be measured


def summary_measurements(key: str, ecg: ECG) -> tuple[object, list]:
    """A long recording's summary intervals (the Reader's whole-recording view, a Batch row): those of the
    first minute whose QRS can be measured, among the first SUMMARY_MINUTES_TRIED, and the minutes passed
    over (a minute's lead quality is rated over the whole minute: ten noisy seconds in MIT-BIH 208's first
    minute made its lead II unusable and no QRS was measured, while each of its 10 s pages has one). Every
    minute unmeasurable: the first, saying why."""
    passed = []
    for k in range(SUMMARY_MINUTES_TRIED):
        start = k * SUMMARY_S
        if k and start + SUMMARY_S > ecg.duration:
            break
        m = measurements(key, ecg, start, SUMMARY_S)
        if m.qrs_ms is not None:
            return m, passed
        passed.append(m)
    return passed[0], passed[1:]


def start_trend(key: str, ecg: ECG) -> None:
    """Begin finding the beats of the whole recording whose content hash is `key` (the overview)."""
    _MEASUREMENTS.start("trend_job", key, ecg)


OVERVIEW_WAIT_S = 2.0    # a page waits this long for its overview's beats (30 min: ~0.3 s; 24 h: ~10 s) ...
OVERVIEW_WAIT_MAX_S = 2 * 3600.0   # ... unless the recording is longer than this: its search takes longer anyway


def overview_wait_s(ecg: ECG) -> float:
    """How long a page waits for the overview of `ecg` before drawing without it."""
    return OVERVIEW_WAIT_S if ecg.duration <= OVERVIEW_WAIT_MAX_S else 0.0


def heart_rate_trend(key: str, ecg: ECG, wait_s: float | None = None):
    """mets_core.measure.heart_rate_trend of the whole recording whose content hash is `key` (once per server);
    with `wait_s`, None if it is not found within that many seconds (the search goes on)."""
    return _MEASUREMENTS.result("trend_job", key, ecg, wait_s=wait_s)
