"""Reading records ahead of the encoder: a pool of processes reads (and preprocesses) records in record
order while the model loads and encodes, and `batches` groups what they return for the encoder."""
from __future__ import annotations

import pickle
import signal
import threading
import time


def _ignore_interrupts() -> None:
    """In each reader process: Ctrl-C reaches the whole process group, and the parent alone decides what an
    interrupt means (it keeps the rows written and ends these processes: RecordReader.close)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_or_error(rec: str, preprocess_settings: dict | None, read_options: dict | None = None):
    """read_ecg(rec, **read_options) -> ECG, or (ECG, windows, masks) prepared for the model with
    `preprocess_settings`; or the exception (one bad record never stops a run) in a form that crosses processes."""
    from ..readers import read_ecg
    try:
        ecg = read_ecg(rec, **(read_options or {}))
        if preprocess_settings is None:
            return ecg
        from ..preprocess import PreprocessConfig, to_model_input
        x, mask, _ = to_model_input(ecg, PreprocessConfig.from_dict(preprocess_settings))
        return ecg, x, mask
    except Exception as err:     # the CLI boundary
        try:
            pickle.dumps(err)
            return err
        except Exception:        # an exception type that cannot be pickled: its message is what we show
            return RuntimeError(str(err).strip() or type(err).__name__)


QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"
DIED_READING = "the reader process died while reading it (out of memory?)"


def start_fork_server() -> None:
    """Start the fork server that makes the reader processes (it imports the readers once), here, in the main
    thread, with Ctrl-C ignored: the server and every process it forks inherit that, so a Ctrl-C (which reaches
    the whole process group) never interrupts them mid-import with a traceback of their own. The parent alone
    handles it (RecordReader.close ends the readers)."""
    import multiprocessing
    import os
    from multiprocessing import forkserver
    # an interrupted `mets` process ends itself without Python's clean-up (cli._stopped), and the resource
    # tracker (started with the fork server, from this environment) then frees the pool's semaphores itself:
    # its warning that it does so would follow the one line an interrupt prints
    said = os.environ.get("PYTHONWARNINGS", "")
    if QUIET_TRACKER not in said.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [said, QUIET_TRACKER]))
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["mets_core.readers", "mets_core.preprocess", "scipy.signal"])
    if threading.current_thread() is not threading.main_thread():
        return                  # signal handlers are the main thread's: the pool starts it, as before
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


class RecordReader:
    """(record, ECG or the exception) in record order, read by a pool of processes up to ``depth`` ahead.

    Reading is Python and NumPy work that holds the GIL (wfdb parses headers through pandas), so threads
    would take turns with the encoder; processes read in parallel with it. The pool starts when the reader
    is made, which the commands do before loading the model, from a thread (starting the fork server waits
    for it to import the readers): the first records are read while torch imports. The processes come from
    a fork server that has imported the readers once (never torch, and never a fork of a process holding
    threads). With `preprocess_settings` they also resample, filter and window each ECG (an ECG comes back
    as (ECG, windows, masks)), so the encoding process never preprocesses and never imports scipy.
    `read_options` are read_ecg's keyword arguments for every record (lead_names, fs, start_s, end_s). A reader
    process that dies (a hostile file exhausting memory) fails its record, once that record has killed a
    process of its own too (`_read_alone`: another record in flight beside it is not blamed); a new pool
    reads the rest."""

    def __init__(self, records: list[str], workers: int, preprocess_settings: dict | None = None,
                 depth: int = 256, read_options: dict | None = None):
        from collections import deque
        self.settings = preprocess_settings
        self.read_options = dict(read_options or {})
        self.started = time.perf_counter()
        self.workers, self.depth = max(1, min(workers, len(records))), depth
        self.pending = iter(records)
        self.queue: deque = deque()          # (record, future), in record order
        self.pool = None
        self._start_error: BaseException | None = None
        self._starting = threading.Thread(target=self._start, name="mets-read-start", daemon=True)
        if records:
            start_fork_server()
            self._starting.start()

    def _start(self) -> None:
        try:
            self.pool = self._new_pool()
            self._fill()                     # the first submit starts the fork server and the workers
        except BaseException as err:         # raised where the records are consumed
            self._start_error = err

    def _ready(self) -> None:
        if self._starting.is_alive() or self._starting.ident is not None:
            self._starting.join()
        if self._start_error is not None:
            err, self._start_error = self._start_error, None
            raise err

    def _new_pool(self, workers: int | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        ctx = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(max_workers=workers or self.workers, mp_context=ctx,
                                   initializer=_ignore_interrupts)

    def _read_alone(self, rec: str):
        """The record read by a process of its own: after a reader process died, the record at the head of the
        queue may only have been in flight beside the one that killed it, and is blamed only if it kills a
        process again when read alone."""
        from concurrent.futures.process import BrokenProcessPool
        pool = self._new_pool(workers=1)
        try:
            return pool.submit(_read_or_error, rec, self.settings, self.read_options).result()
        except BrokenProcessPool:
            return RuntimeError(DIED_READING)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


    def _fill(self) -> None:
        while self.pool is not None and len(self.queue) < self.depth:
            rec = next(self.pending, None)
            if rec is None:
                return
            self.queue.append((rec, self.pool.submit(_read_or_error, rec, self.settings, self.read_options)))

    def __iter__(self):
        from collections import deque
        from concurrent.futures.process import BrokenProcessPool
        self._ready()
        while self.queue:
            rec, fut = self.queue.popleft()
            try:
                result = fut.result()
            except BrokenProcessPool:
                self.pool.shutdown(wait=False, cancel_futures=True)
                result = self._read_alone(rec)
                self.pool = self._new_pool()
                self.queue = deque((r, self.pool.submit(_read_or_error, r, self.settings, self.read_options))
                                   for r, _ in self.queue)
            self._fill()
            yield rec, result

    def close(self, terminate: bool = False) -> None:
        """Stop reading. `terminate`: end the reader processes now (an interrupt, or the consumer failed)
        instead of letting them finish the record in hand; waiting on them then could wait for ever."""
        if self._starting.ident is not None:
            self._starting.join()
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        if terminate and hasattr(pool, "terminate_workers"):      # Python 3.14 on: the executor's own way
            pool.terminate_workers()
        elif terminate:
            # before 3.14 the executor has no public way to end its workers: its table of them
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)
        else:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(terminate=exc_type is not None)


def batches(reader: RecordReader, batch_size: int):
    """Lists of (record, ECG or exception), each holding at most ``batch_size`` ECGs."""
    batch: list = []
    n_ecgs = 0
    for rec, result in reader:
        batch.append((rec, result))
        if not isinstance(result, BaseException):
            n_ecgs += 1
        if n_ecgs >= batch_size:
            yield batch
            batch, n_ecgs = [], 0
    if batch:
        yield batch

