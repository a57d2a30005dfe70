"""The server-wide model and report index, and every call into them (one per server, shared by sessions).

- The engine (METS model + report index) is loaded once per server with `st.cache_resource`, keyed by the
  weights folder and the modification times of its config and index (new weights in place -> reloaded; a
  failure is remembered as a message, not raised, so the rest of the page keeps working).
- ECG embeddings and prompt embeddings are cached inside `METS` (by `ECG.content_hash()` and by phrase), so
  editing prompts re-ranks without re-embedding the ECG. Model calls hold one lock: Streamlit serves
  sessions from threads and the model's caches are shared.
- Measurements are cached here too, per content hash: they depend on the signal only, not on the session.
"""
from __future__ import annotations

import gc
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from mets_core.ecg import ECG

WEIGHTS_ENV = "METS_WEIGHTS"
THREADS_ENV = "METS_TORCH_THREADS"     # torch intra-op threads of the server; 0 = leave torch's default
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
        """Where the weights came from and their hash, as printed on the report."""
        if self.model is None:
            return ""
        info = self.model.info()
        return f"{info.get('source') or self.weights_dir} · weights {str(info.get('weights_sha256') or '')[:12]}"

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
        with self.lock:
            return self.index.search(self.model, query, k)

    def saliency(self, ecg: ECG, prompt: str):
        with self.lock:
            return self.model.saliency(ecg, prompt)


def weights_dir() -> Path:
    from mets_core.checkpoint import default_weights_dir   # honours $METS_WEIGHTS
    return default_weights_dir()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def get_engine() -> Engine:
    folder = weights_dir()
    return _load_engine(str(folder), _mtime(folder / "config.json"), _mtime(folder / "index" / "index.json"))


@st.cache_resource(show_spinner=False, max_entries=1)   # replaced weights: drop the old engine
def _load_engine(folder: str, config_mtime: float, index_mtime: float) -> Engine:
    from mets_core.checkpoint import CheckpointError
    from mets_core.pipeline import METS

    _set_torch_threads()
    engine = Engine(Path(folder))
    if not (engine.weights_dir / "config.json").is_file():
        engine.error = (f"No model weights at {folder}. Put a METS checkpoint there (model.safetensors + "
                        f"config.json) or set ${WEIGHTS_ENV} to a checkpoint folder, then reload the page.")
        return engine
    try:
        model = METS.from_pretrained(folder)
        model.embed_prompts(list(WARMUP_PROMPTS))      # the prompt path warm (known phrase: shipped text cache)
        engine.model = model
        # not a daemon: killed inside the text model's native code at interpreter exit, it aborts the process
        threading.Thread(target=_embed_presets, args=(engine,), daemon=False, name="mets-presets").start()
    except CheckpointError as err:
        engine.error = f"The model weights at {folder} could not be loaded: {err}"
        return engine
    except Exception as err:   # e.g. the text model is not installed
        engine.error = f"The model at {folder} could not be started: {type(err).__name__}: {err}"
        return engine
    index_dir = engine.weights_dir / "index"
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


def _set_torch_threads() -> None:
    """One intra-op thread by default. A dashboard serves many small requests (a few prompts, one ECG);
    with several threads torch's workers spin against each other and against the other sessions: on the
    2-core reference machine under load, embedding 3 new prompts took ~2 s with 2 threads, 0.18 s with 1."""
    try:
        n = int(os.environ.get(THREADS_ENV, "1"))
    except ValueError:
        n = 1
    if n > 0:
        import torch
        torch.set_num_threads(n)


# ------------------------------------------------------------------------ measurements (per content hash)

@st.cache_resource(show_spinner=False)
def warm_up_measurements() -> bool:
    """Import neurokit2 and run one measurement at server start, not on a clinician's first upload."""
    from mets_core.measure import measure
    from mets_core.simulate import simulate_ecg
    measure(simulate_ecg(duration_s=10, fs=250, heart_rate=75, leads=("II",), seed=0))
    return True


class _Measurements:
    """mets_core.measure results shared by all sessions, keyed by (content hash, start, seconds), computed on
    a worker thread: a page asks for them early (`start`) and takes them when it draws them (`result`), so
    the measurement runs while the page embeds, ranks and retrieves (numpy and torch release the GIL)."""

    MAX_ENTRIES = 512

    def __init__(self):
        from collections import OrderedDict
        from concurrent.futures import ThreadPoolExecutor
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mets-measure")
        self._futures: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def start(self, key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None):
        from mets_core.measure import measure
        k = (key, start_s, seconds)
        with self._lock:
            future = self._futures.get(k)
            if future is None or (future.done() and future.exception() is not None):   # a failure is retried
                args = {} if start_s is None else {"start_s": start_s, "seconds": seconds}
                future = self._futures[k] = self._pool.submit(measure, ecg, **args)
            self._futures.move_to_end(k)
            while len(self._futures) > self.MAX_ENTRIES:
                self._futures.popitem(last=False)
        return future

    def result(self, key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None):
        return self.start(key, ecg, start_s, seconds).result()


_MEASUREMENTS = _Measurements()


def start_measuring(key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None) -> None:
    """Begin measuring the ECG whose content hash is `key` (all of it, or `seconds` from `start_s`)."""
    _MEASUREMENTS.start(key, ecg, start_s, seconds)


def measurements(key: str, ecg: ECG, start_s: float | None = None, seconds: float | None = None):
    """mets_core.measure for the ECG whose content hash is `key` (all of it, or `seconds` from `start_s`);
    computed once per server, raising what measure raised."""
    return _MEASUREMENTS.result(key, ecg, start_s, seconds)


@st.cache_data(show_spinner=False, max_entries=32)
def heart_rate_trend(key: str, _ecg: ECG):
    from mets_core.measure import heart_rate_trend as trend
    return trend(_ecg)
