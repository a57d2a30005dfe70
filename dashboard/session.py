"""One browser session's state: the ECGs it has open (memory only), which one is shown, which stretch of a
long recording is on screen, and the messages of the last load.

Records are keyed by `ECG.content_hash()` (the one content hash the engine's caches use too). Uploaded
bytes are never written to disk or logged. Closing the tab drops this session's records, not everything:
the server's caches, in memory and shared by all sessions, keep what was made from them under their content
hash until it is evicted or the server stops: measurements (dashboard.engine, the last 512 jobs), copies of
long recordings in the measuring processes (dashboard.measure_worker, the last 4 per process), drawn pages
(panels/tracing.py, the last 64), heart-rate overviews (panels/navigation.py, the last 16) and METS's
ECG embeddings (mets_core.cache, the last 512). None of it is written to disk.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

# the one page length and h:mm:ss format; the pages read them as session.PAGE_S and session.hms too
from dashboard.plotting import PAGE_S, hms
from mets_core.ecg import ECG

DATA_ENV = "METS_DATA_DIR"
MAX_RECORDS = 100                      # ECGs open at once in one browser session
LONG_RECORD_S = 10.5                   # longer recordings are paged
SALIENCY_MAX_S = 60.0                  # longer records are explained on the 10 s page on screen


@dataclass
class Record:
    key: str            # content hash (plus "-n" for the same signal under another name)
    ecg: ECG
    origin: str         # "upload", "demo", "physionet"
    label: str          # unique display name in this session
    beats: object = None    # mets_core.readers.beat_labels.Beats: the file's own beat labels, when it has an annotation file
    source_labels: object = None    # mets_core.file_labels.FileLabels: what the database says beside the file
                                    # (PTB-XL's table, for a record fetched from PhysioNet's PTB-XL)

    @property
    def synthetic(self) -> bool:
        return self.ecg.metadata.get("source_format") == "synthetic"

    @property
    def is_long(self) -> bool:
        return self.ecg.duration > LONG_RECORD_S


# ------------------------------------------------------------------------------------- the record store

def records() -> dict[str, Record]:
    return st.session_state.setdefault("records", {})


def add_record(ecg: ECG, origin: str, beats=None, source_labels=None) -> Record:
    """Open `ecg` (or show it again when the same data under the same name is already open); `beats`: its
    annotation file's beat labels (mets_core.readers.beat_labels.Beats), if any; `source_labels`: what its
    database says of it beside the file (mets_core.file_labels.FileLabels), if anything."""
    recs = records()
    signal = ecg.content_hash()
    # every entry of this signal: its own and those of copies under other names ("-2", "-3", ...), so that a
    # copy dropped again is shown again, not opened a second time
    opened = [k for k in recs if k == signal or k.startswith(f"{signal}-")]
    same = next((recs[k] for k in opened
                 if (ecg.name or "ECG") == (recs[k].ecg.name or "ECG") or origin != "upload"), None)
    if same is not None:
        # the same record again, now perhaps with its annotation file (.hea + .dat first, then the .atr):
        # what it brings is kept, never what the open one already has
        same.beats = same.beats if same.beats is not None else beats
        same.source_labels = same.source_labels if same.source_labels is not None else source_labels
        set_current(same.key)
        return same
    # the same signal under another name (e.g. a copy of a file): its own entry, its own name
    key, n = signal, 2
    while key in recs:
        key, n = f"{signal}-{n}", n + 1
    labels = {r.label for r in recs.values()}
    label, n = ecg.name or "ECG", 2
    while label in labels:
        label, n = f"{ecg.name or 'ECG'} ({n})", n + 1
    rec = Record(key, ecg, origin, label, beats, source_labels)
    recs[key] = rec
    while len(recs) > MAX_RECORDS:          # memory bound per session: the oldest ECG is closed
        remove_record(next(iter(recs)))
    set_current(key)
    return rec


def current_record() -> Record | None:
    recs = records()
    key = st.session_state.get("current")
    if key in recs:
        return recs[key]
    return next(reversed(recs.values()), None) if recs else None


def set_current(key: str | None) -> None:
    st.session_state["current"] = key


def remove_record(key: str | None) -> None:
    """Close an ECG, and forget what this session kept of it (its page, whole-recording switch, time box, the
    overview's clicks: every state key ending in _<its key>), so that opening it again starts
    afresh."""
    records().pop(key, None)
    explanations = st.session_state.get("saliency")          # keyed (record, prompt, stretch, weights)
    for k in explanations.keys() if explanations is not None else ():
        if k[0] == key:
            explanations.pop(k)
    st.session_state["explained"] = {k for k in st.session_state.get("explained", ()) if k[0] != key}
    if key:
        for name in [k for k in st.session_state if isinstance(k, str) and k.endswith(f"_{key}")]:
            del st.session_state[name]
    if st.session_state.get("current") == key:
        set_current(next(reversed(records()), None) if records() else None)


# ------------------------------------------------------------------------ settings kept across pages

# Streamlit forgets a widget's value at the end of a run that does not draw it: the Reader's settings (the
# paper's gain, speed and layout, the phrases typed, the reports to show ...) are drawn on the Reader only, so a
# run of Compare or Batch would put them back to their defaults, on the Reader's return and on the pages that
# read them meanwhile (Compare's paper scale). What such a widget holds is kept under a key of its own, which no
# widget has (Streamlit forgets only widgets' values), put back before the widget is drawn again, and read from
# there while the widget is not drawn.
KEPT_PREFIX = "kept:"


def _kept(key: str) -> str:
    return KEPT_PREFIX + key


def restore(key: str, default=None) -> None:
    """Before the widget `key` is drawn: give it back the value it held when last kept (else `default`, when
    given). A widget restored so takes its first value from here, never from its own `value=`/`index=` too."""
    if key not in st.session_state:
        value = st.session_state.get(_kept(key), default)
        if value is not None:
            st.session_state[key] = value


def keep(*keys: str) -> None:
    """After the widgets `keys` are drawn (or in their on_change): keep what they hold for the runs that do
    not draw them."""
    for key in keys:
        if key in st.session_state:
            st.session_state[_kept(key)] = st.session_state[key]


def kept(key: str, default=None):
    """What the widget `key` held when it was last kept (a choice the user made, on a page not drawn now, or
    drawn), else `default`."""
    return st.session_state.get(_kept(key), default)


def setting(key: str, default=None):
    """What the widget `key` holds, or held when last kept while it is not drawn, else `default`."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(_kept(key), default)


# ------------------------------------------------------------------------------- messages of a load

def set_load_errors(errors: list[tuple[str, str]]) -> None:
    st.session_state["load_errors"] = list(errors)


def set_unnamed(uploads: list) -> None:
    """The last upload's records whose channels bear no lead name (dashboard.loading.Unnamed), waiting for
    the reader to name them; the next upload replaces them."""
    st.session_state["unnamed_uploads"] = list(uploads)


def unnamed() -> list:
    return st.session_state.get("unnamed_uploads") or []


def set_failed_uploads(errors: list[tuple[str, str]]) -> None:
    """(files, why) of the last upload's files that could not be opened: kept until the next upload, for the
    pages that list them after the message has gone (Batch)."""
    st.session_state["failed_uploads"] = list(errors)


def failed_uploads() -> list[tuple[str, str]]:
    return list(st.session_state.get("failed_uploads") or [])


def take_load_errors() -> list[tuple[str, str]]:
    """The last load's messages, once: the next action (or another page) clears them."""
    return st.session_state.pop("load_errors", None) or []


# ------------------------------------------------------------------------------ what is on screen

def page_start(rec: Record) -> float:
    return float(st.session_state.get(f"start_{rec.key}", 0.0)) if rec.is_long else 0.0


PAGE_START_STEP_S = 0.1     # a page starts on a tenth of a second, or exactly a page before the recording's end


def _page_start_within(rec: Record, start: float) -> float:
    """`start` within the recording, to a tenth of a second; within a tenth of the last page's start, that start
    (a 362.45-s recording: "Previous" from its last page went to 342.4 s, "Next" then to 352.4 s, a last page
    that left the final 0.05 s out and whose "Next" moved 0.05 s)."""
    top = max(0.0, rec.ecg.duration - PAGE_S)
    start = max(0.0, round(start, 1))
    return float(top if start > top - PAGE_START_STEP_S + 1e-9 else start)


def set_page_start(rec: Record, start: float) -> None:
    st.session_state[f"start_{rec.key}"] = _page_start_within(rec, start)


def pages_ahead(rec: Record, n: int = 2) -> list[float]:
    """Where "Next ▶" goes from the page on screen, and pressed again (up to `n` pages, within the record)."""
    here = page_start(rec)
    return sorted({s for k in range(1, n + 1) if (s := _page_start_within(rec, here + k * PAGE_S)) > here})


def whole_record_view(rec: Record) -> bool:
    """True when the user chose the whole-recording summary instead of the page on screen."""
    return bool(setting(f"whole_{rec.key}", False))


@dataclass(frozen=True)
class Scope:
    """The stretch of a recording that measurements, ranking, "why" and retrieval describe."""
    ecg: ECG
    words: str                    # "" for a short recording (all of it), else which stretch it is
    start_s: float                # where the page on screen starts (0 for short recordings)
    whole: bool                   # the whole-recording summary of a long recording


def scope(rec: Record) -> Scope:
    if not rec.is_long:
        return Scope(rec.ecg, "", 0.0, False)
    start = page_start(rec)
    if whole_record_view(rec):
        return Scope(rec.ecg, f"Whole recording, 0:00:00–{hms(rec.ecg.duration)} (model: average of its 10 s "
                              f"windows)", start, True)
    end = min(rec.ecg.duration, start + PAGE_S)
    return Scope(page_ecg(rec, start), f"Page on screen, {hms(start)}–{hms(end)}", start, False)


def page_stretch(rec: Record, start: float) -> tuple[float | None, float | None]:
    """(start, seconds) to measure for the page of `rec` from `start`: that 10 s page of a long recording,
    (None, None) for the whole of a short one (mets_core.measure's default)."""
    return (start, PAGE_S) if rec.is_long else (None, None)


def page_ecg(rec: Record, start: float) -> ECG:
    """The page of a long recording that starts at `start` s, as the model sees it (its content hash keys
    the engine's caches, so a page read ahead is found again)."""
    return rec.ecg.crop(start, min(rec.ecg.duration, start + PAGE_S))


def saliency_window(rec: Record) -> tuple[float, float]:
    """(start, end) seconds of the recording that "Why" explains: the page on screen for a long recording
    (also in the whole-recording view when it is longer than SALIENCY_MAX_S), else all of it."""
    if not rec.is_long or (whole_record_view(rec) and rec.ecg.duration <= SALIENCY_MAX_S):
        return 0.0, rec.ecg.duration
    start = page_start(rec)
    return start, min(rec.ecg.duration, start + PAGE_S)


SALIENCIES_KEPT = 24      # explanations kept per session: "why" follows the page shown, and paging a day-long
                          # Holter with it on kept all 8,640 pages' (each 12 leads x 1,000 samples at the model's
                          # 100 Hz, 48-96 kB: 0.4-0.8 GB in one session)


def saliency(engine, rec: Record, prompt: str):
    """The engine's saliency of `prompt` for the record (or its page on screen); the last SALIENCIES_KEPT kept
    for this session."""
    from mets_core.cache import LRU
    start, end = saliency_window(rec)
    kept = st.session_state.setdefault("saliency", LRU(SALIENCIES_KEPT))
    # the whole stretch: a 30-s recording's first page and its whole-recording view both start at 0 s;
    # replaced weights explain afresh
    key = (rec.key, prompt, start, end, engine.model.weights_sha256)
    found = kept.get(key)
    if found is None:
        ecg = rec.ecg if (start, end) == (0.0, rec.ecg.duration) else rec.ecg.crop(start, end)
        found = engine.saliency(ecg, prompt)
        kept.put(key, found)
    st.session_state.setdefault("explained", set()).add((rec.key, prompt))
    return found


def has_saliency(rec: Record, prompt: str) -> bool:
    """Whether `prompt` was explained for this record, on any stretch (kept or not): "Why" then follows the
    page shown without being asked again."""
    return (rec.key, prompt) in st.session_state.get("explained", ())


def data_dir() -> Path | None:
    """The user's folder of source databases (for retrieval thumbnails): sidebar setting, else $METS_DATA_DIR."""
    value = (st.session_state.get("data_dir") or os.environ.get(DATA_ENV) or "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None
