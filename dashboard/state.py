"""Server-wide resources and per-session state of the dashboard.

- The engine (METS model + report index) is loaded once per server with `st.cache_resource`, keyed by the
  weights folder and its config's modification time (new weights in place -> reloaded; a failure is
  remembered as a message, not raised, so the rest of the page keeps working).
- ECG embeddings and prompt embeddings are cached inside `METS` (ECG by signal hash, prompts by phrase), so
  editing prompts re-ranks without re-embedding the ECG. Model calls hold one lock: Streamlit serves
  sessions from threads and the model's caches are shared.
- Loaded ECGs live in `st.session_state` (memory only). Uploaded bytes are never written to disk or logged.
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from mets_core.ecg import ECG

DATA_ENV = "METS_DATA_DIR"
WEIGHTS_ENV = "METS_WEIGHTS"
THREADS_ENV = "METS_TORCH_THREADS"     # torch intra-op threads of the server; 0 = leave torch's default
WARMUP_PROMPTS = ("sinus rhythm",)
MAX_RECORDS = 100                      # ECGs open at once in one browser session


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


def weights_dir() -> Path:
    from mets_core.mets import default_weights_dir   # honours $METS_WEIGHTS
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
    from mets_core.mets import METS

    _set_torch_threads()
    engine = Engine(Path(folder))
    if not (engine.weights_dir / "config.json").is_file():
        engine.error = (f"No model weights at {folder}. Put a METS checkpoint there (model.safetensors + "
                        f"config.json) or set ${WEIGHTS_ENV} to a checkpoint folder, then reload the page.")
        return engine
    try:
        model = METS.from_pretrained(folder)
        model.embed_prompts(list(WARMUP_PROMPTS))      # load the frozen text encoder now, not on first rank
        engine.model = model
        threading.Thread(target=_embed_presets, args=(engine,), daemon=True, name="mets-presets").start()
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
    return engine


def _embed_presets(engine: Engine, chunk: int = 6) -> None:
    """Embed every preset prompt once, in the background and a few at a time (the lock is released
    between chunks, so a clinician's request never waits long): preset switches then cost no encoding."""
    from mets_core.prompts import PRESETS
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


# ------------------------------------------------------------------------------------- loaded ECGs

@dataclass
class Record:
    key: str            # content hash: identifies the ECG in every cache
    ecg: ECG
    origin: str         # "upload", "demo", "physionet"
    label: str          # unique display name in this session

    @property
    def synthetic(self) -> bool:
        return self.ecg.metadata.get("source_format") == "synthetic"


def ecg_key(ecg: ECG) -> str:
    h = hashlib.sha256()
    h.update(memoryview(ecg.signal.astype("float32", copy=False).tobytes()))
    h.update(repr((float(ecg.fs), ecg.lead_mask.tolist())).encode())
    return h.hexdigest()[:24]


def records() -> dict[str, Record]:
    return st.session_state.setdefault("records", {})


def add_record(ecg: ECG, origin: str) -> Record:
    recs = records()
    key = ecg_key(ecg)
    if key in recs:
        if (ecg.name or "ECG") == recs[key].ecg.name or origin != "upload":
            st.session_state["current"] = key
            return recs[key]
        # the same signal under another name (e.g. a copy of a file): its own entry, its own name
        n = 2
        while f"{key}-{n}" in recs:
            n += 1
        key = f"{key}-{n}"
    labels = {r.label for r in recs.values()}
    label, n = ecg.name or "ECG", 2
    while label in labels:
        label, n = f"{ecg.name} ({n})", n + 1
    rec = Record(key, ecg, origin, label)
    recs[key] = rec
    while len(recs) > MAX_RECORDS:          # memory bound per session: the oldest ECG is closed
        remove_record(next(iter(recs)))
    st.session_state["current"] = key
    return rec


def current_record() -> Record | None:
    recs = records()
    key = st.session_state.get("current")
    if key in recs:
        return recs[key]
    return next(reversed(recs.values()), None) if recs else None


def remove_record(key: str) -> None:
    records().pop(key, None)
    st.session_state.get("saliency", {}).pop(key, None)
    if st.session_state.get("current") == key:
        st.session_state["current"] = next(reversed(records()), None) if records() else None


def data_dir() -> Path | None:
    """The user's folder of source databases (for retrieval thumbnails): sidebar setting, else $METS_DATA_DIR."""
    value = (st.session_state.get("data_dir") or os.environ.get(DATA_ENV) or "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


# ---------------------------------------------------------------------------------- cached results

@st.cache_resource(show_spinner=False)
def warm_up_measurements() -> bool:
    """Import neurokit2 and run one measurement at server start, not on a clinician's first upload."""
    import numpy as np

    from mets_core.measure import measure
    t = np.arange(2500) / 250.0
    beat = np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)          # a plain spike train, 75 bpm
    measure(ECG.from_leads(beat[None, :], ["II"], 250.0))
    return True


@st.cache_data(show_spinner=False, max_entries=256)
def measurements(key: str, _ecg: ECG):
    """mets_core.measure for the ECG identified by `key` (cached in memory, per content hash)."""
    from mets_core.measure import measure
    return measure(_ecg)


def rank(engine: Engine, rec: Record, prompts: list[str], ecg: ECG | None = None):
    """The model's ranking of `prompts` for the record, or for `ecg` (a stretch of it) when given."""
    with engine.lock:
        return engine.model.rank(ecg if ecg is not None else rec.ecg, prompts)


# ------------------------------------------------------------------------------ what is on screen

PAGE_S = 10.0               # one page of the tracing
LONG_RECORD_S = 10.5        # longer recordings are paged


def page_start(rec: Record) -> float:
    return float(st.session_state.get(f"start_{rec.key}", 0.0))


def set_page_start(rec: Record, start: float) -> None:
    top = max(0.0, rec.ecg.duration - PAGE_S)
    st.session_state[f"start_{rec.key}"] = float(min(max(0.0, round(start, 1)), top))


def is_long(rec: Record) -> bool:
    return rec.ecg.duration > LONG_RECORD_S


def whole_record_view(rec: Record) -> bool:
    """True when the user chose the whole-recording summary instead of the page on screen."""
    return bool(st.session_state.get(f"whole_{rec.key}", False))


def crop(ecg: ECG, start: float, end: float) -> ECG:
    a, b = int(round(start * ecg.fs)), int(round(end * ecg.fs))
    meta = dict(ecg.metadata)
    meta["cropped_from_s"] = f"{start:.3f}"
    return ECG(signal=ecg.signal[:, a:b], fs=ecg.fs, lead_mask=ecg.lead_mask, name=ecg.name, metadata=meta)


def scoped(rec: Record) -> tuple[ECG, str]:
    """(the ECG that measurements, ranking, "why" and retrieval use, words saying which stretch it is)."""
    if not is_long(rec):
        return rec.ecg, ""
    if whole_record_view(rec):
        return rec.ecg, f"Whole recording, 0:00:00–{hms(rec.ecg.duration)} (model: average of its 10 s windows)"
    start = page_start(rec)
    end = min(rec.ecg.duration, start + PAGE_S)
    return crop(rec.ecg, start, end), f"Page on screen, {hms(start)}–{hms(end)}"


def hms(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    frac = seconds - int(seconds)
    return f"{h}:{m:02d}:{s:02d}" + (f".{int(round(frac * 10)) % 10}" if frac >= 0.05 else "")


@st.cache_data(show_spinner=False, max_entries=512)
def page_measurements(key: str, start: float, seconds: float, _ecg: ECG):
    from mets_core.measure import measure
    return measure(_ecg, start_s=start, seconds=seconds)


@st.cache_data(show_spinner=False, max_entries=32)
def heart_rate_trend(key: str, _ecg: ECG):
    from mets_core.measure import heart_rate_trend as trend
    return trend(_ecg)


SALIENCY_MAX_S = 60.0    # longer records are explained on the 10 s page on screen (cost grows with length)


def saliency_window(rec: Record) -> tuple[float, float]:
    """(start, end) seconds of the recording that "Why" explains: the page on screen for a long recording
    (also in the whole-recording view when it is longer than SALIENCY_MAX_S), else all of it."""
    if not is_long(rec) or (whole_record_view(rec) and rec.ecg.duration <= SALIENCY_MAX_S):
        return 0.0, rec.ecg.duration
    start = page_start(rec)
    return start, min(rec.ecg.duration, start + PAGE_S)


def saliency(engine: Engine, rec: Record, prompt: str):
    """mets_core's saliency of `prompt` for the record (or its page on screen); cached per session."""
    start, end = saliency_window(rec)
    cache = st.session_state.setdefault("saliency", {}).setdefault(rec.key, {})
    key = (prompt, start, engine.model.weights_sha256)   # replaced weights explain afresh
    if key not in cache:
        ecg = rec.ecg
        if (start, end) != (0.0, ecg.duration):
            a, b = int(round(start * ecg.fs)), int(round(end * ecg.fs))
            ecg = ECG(signal=ecg.signal[:, a:b], fs=ecg.fs, lead_mask=ecg.lead_mask, name=ecg.name,
                      metadata=dict(ecg.metadata))
        with engine.lock:
            cache[key] = engine.model.saliency(ecg, prompt)
    return cache[key]


def search(engine: Engine, query, k: int):
    with engine.lock:
        return engine.index.search(engine.model, query, k)
