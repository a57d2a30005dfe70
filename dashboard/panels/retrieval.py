"""Similar reports from the pretraining corpus (with each hit's own ECG when the user's data folder has it)
and a free-text search of the corpus. Each hit carries data-testid="mets-hit", data-kind ("ecg" or "text")
and data-rank."""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import streamlit as st

from mets_core.index import parse_source_id, record_key
from mets_core.preprocess import PreprocessConfig
from mets_core.prompts import clean_phrase

from .. import plotting, session
from ..engine import Engine
from .common import esc, guard


DEFAULT_HITS = 5
# the strip drawn beside each hit: its window of the corpus, one model window (not the page on screen)
THUMBNAIL_S = PreprocessConfig().window_s


def hits_shown() -> int:
    """How many similar reports the reader chose to see."""
    return int(session.setting("k_hits", DEFAULT_HITS))


# The index holds the reports of the ECGs the model trained on, of those it was validated on, and all of PTB-XL's:
# a hit from the recording itself is its own report found again, not a second opinion, and which of these three it
# is the index does not say.
SELF_HIT = "this very recording (its own report; the model may have trained on it)"
OTHER_STRETCH = "another stretch of this very recording (the model may have trained on it)"


def _own_recording(recording, folder: Path, source_id: str, resolved) -> bool:
    """Whether the hit `source_id` is a window of `recording`: the folder's copy of the hit's record holds the same
    samples, or the folder holds the recording under its own name (PTB-XL's 00001_lr, whose hit 'ptbxl/1' finds
    the 500 Hz 00001_hr first) and that record is the hit's (`record_key`, the one way a name meets the corpus)."""
    from mets_core.file_labels import is_recording_of

    from ..loading import resolve_source
    if resolved and is_recording_of(recording, resolved[0]) is True:
        return True
    database, record, _ = parse_source_id(source_id)
    name = str(recording.name or "")
    if not record or not name or record_key(name) != record_key(record.rsplit("/", 1)[-1]):
        return False
    mine = resolve_source(folder, f"{database}/{name}")
    return bool(mine) and (not resolved or mine[0] != resolved[0]) and is_recording_of(recording, mine[0]) is True


def _on_screen(ecg, recording, source_id: str) -> bool:
    """Whether a hit from `recording` is of the stretch `ecg` on screen (a page of it, or all of it): its
    window covers at least half of that stretch. A Holter's other windows are reports of other pages."""
    if ecg is recording or "cropped_from_s" not in ecg.metadata:
        return True
    page_start = float(ecg.metadata["cropped_from_s"])
    hit_start = parse_source_id(source_id).start_s or 0.0
    overlap = min(page_start + ecg.duration, hit_start + THUMBNAIL_S) - max(page_start, hit_start)
    return overlap >= 0.5 * ecg.duration


def _where(source_id: str) -> tuple[str, str]:
    """(database, record with where in it the strip starts): 'mitdb/203:1290' -> ('mitdb', '203 at 0:21:30'),
    'ptbxl/5059:0' -> ('ptbxl', '5059')."""
    db, record, at = parse_source_id(source_id)
    return db, record + (f" at {plotting.hms(at)}" if (at or 0) > 0 else "")


def _hit_html(rank: int, hit, kind: str, own: str = "") -> str:
    """One hit: its similarity, the first strip with its text (database, record, where in it) and how many
    more strips of the corpus, of which databases, have exactly this text; `own`: SELF_HIT or OTHER_STRETCH when
    the hit is from the recording on screen."""
    report, sim, source_id = hit[0], hit[1], hit[2]
    n_strips, sources = (hit[3], hit[4]) if len(hit) > 4 else (1, ())
    db, where = _where(source_id)
    tag = f' <span class="self-hit" data-testid="mets-self-hit">{own}</span>' if own else ""
    more = (f' <span class="hit-more" title="10-second ECGs, or 10-second strips of longer recordings, of the '
            f'corpus whose report is exactly this text (several can come from one recording or patient)">and '
            f'{n_strips - 1:,} more strip{"s" if n_strips > 2 else ""} ({esc(", ".join(sources))})</span>'
            if n_strips > 1 else "")
    return (f'<div class="hit-row" data-testid="mets-hit" data-kind="{kind}" data-rank="{rank}"><div class="hit-sim">{sim:+.3f}</div>'
            f'<div class="hit-body"><div class="hit-src"><span class="db" title="the corpus database">'
            f'{esc(db or "corpus")}</span> <span title="its record, and where in it the 10-second strip starts">'
            f'{esc(where or source_id)}</span>{more}{tag}</div><div class="hit-report">{esc(report)}</div></div></div>')


def retrieval_panel(engine: Engine, ecg, scope: str = "", folder: Path | None = None, recording=None) -> None:
    """The corpus reports nearest to `ecg` (the stretch on screen), and a free-text search of the corpus;
    `folder`: the user's data folder, where each hit's own ECG is looked up; `recording`: the whole ECG the
    stretch is from (default `ecg`). A hit from that very recording (`_own_recording`) is said to be one, and
    whether it is the stretch on screen or another of a long recording: its own report, not a second opinion."""
    from ..loading import resolve_source

    st.markdown("#### Similar reports from the pretraining corpus")
    if engine.model is None:
        st.info("Retrieval needs the model, which is not available (see the message at the top).")
        return
    if engine.index is None:
        st.info(engine.index_error or "No report index is available.")
        return
    c1, c2 = st.columns([1.25, 1], gap="large")
    with c1:
        session.restore("k_hits", DEFAULT_HITS)       # kept while other pages are shown (session.keep)
        k = st.slider("Reports to show", 3, 20, key="k_hits")
        session.keep("k_hits")
        with guard("Retrieval"):
            hits = engine.search(ecg, k)
            if scope:
                st.markdown(f'<div class="rank-scope">{esc(scope)}</div>', unsafe_allow_html=True)
            st.markdown(f'<div class="hit-cap">Nearest {len(hits)} of {len(engine.index):,} corpus reports to '
                        f'this ECG. The number is the cosine similarity (−1 to 1, not a percentage); reports close '
                        f'to most ECGs are ranked lower, so it need not fall steadily down the list. One hit per '
                        f'record; reports that differ only in their numbers count once.</div>',
                        unsafe_allow_html=True)
            recording = ecg if recording is None else recording
            rows, own, elsewhere, strips = [], 0, 0, 0
            for i, hit in enumerate(hits, 1):
                source_id = hit[2]
                resolved = resolve_source(folder, source_id) if folder is not None else None
                strip = _thumbnail(str(resolved[0]), resolved[1], str(source_id)) if resolved else None
                tag = ""
                if folder is not None and _own_recording(recording, folder, source_id, resolved):
                    tag = SELF_HIT if _on_screen(ecg, recording, source_id) else OTHER_STRETCH
                own += tag == SELF_HIT
                elsewhere += tag == OTHER_STRETCH
                strips += strip is not None
                row = _hit_html(i, hit, "ecg", tag)
                rows.append(f'<div class="hit-with-ecg">{row}<div class="hit-ecg">{strip}</div></div>'
                            if strip else row)
            st.markdown("".join(rows), unsafe_allow_html=True)      # one element: the list redraws at once
            if own:
                st.caption(f"{own} of these {'are' if own > 1 else 'is'} from this very recording: its own report "
                           f"was found again (the index holds the reports of the ECGs the model trained and was "
                           f"validated on, and every PTB-XL report, its test fold's too), which says nothing about "
                           f"the ECG's likeness to other patients'.")
            if elsewhere:
                many = elsewhere > 1
                st.caption(f"{elsewhere} of these {'are reports' if many else 'is the report'} of another stretch of "
                           f"this recording than the one on screen: {'they describe' if many else 'it describes'} "
                           f"that stretch (its time is given), not this one.")
            if folder is None:
                st.caption("Set a data folder (sidebar: Settings, or $METS_DATA_DIR) holding the source databases "
                           "to see each hit's own ECG.")
            elif strips < len(hits):        # none drawn: not "the other records", there are no others
                others = ("the other records are" if strips else
                          "its record is" if len(hits) == 1 else "their records are")
                st.caption(f"The hit's own ECG is drawn for {strips} of these {len(hits)}: {others} not in your "
                           f"data folder.")
    with c2:
        session.restore("corpus_query")
        query = st.text_input("Search the corpus by text", key="corpus_query",
                              placeholder="e.g. inferior myocardial infarction",
                              help="The reports are in English: PTB-XL's German and Swedish reports translated by the "
                                   "project's glossaries (a few words they do not know are left as written).")
        session.keep("corpus_query")
        try:
            clean_phrase(query)
            has_words = True
        except ValueError:             # "...": nothing to embed (prompts.clean_phrase, the one rule)
            has_words = False
            if query.strip():
                st.info(f"“{query.strip()[:80]}” has no words to search for: type a phrase, e.g. inferior "
                        f"myocardial infarction.")
        if has_words:
            with guard("Text search"):
                text = query.strip()[:500]
                hits = engine.search(text, k)
                if engine.known([text])[0] is False:
                    st.warning(f"“{text[:80]}” is not known to the model (nothing it learned is close to it): the "
                               f"nearest reports below mean little.")
                st.markdown(f'<div class="hit-cap">Reports nearest to “{esc(text[:80])}”. Cosine between two '
                            f'texts: it runs higher than between an ECG and a text, so it does not compare with '
                            f'the list on the left.</div>'
                            + "".join(_hit_html(i, h, "text") for i, h in enumerate(hits, 1)),
                            unsafe_allow_html=True)


def read_ahead(engine: Engine, ecgs: list, k: int, folder: Path | None) -> None:
    """Find the similar reports of `ecgs` (the pages a reader opens next) and draw their hits' strips on a
    background thread, so that those pages find them ready (the ECGs' embeddings are kept by the engine)."""
    if engine.model is None or engine.index is None or not ecgs:
        return
    _READ_AHEAD.submit(_find_and_draw, engine, ecgs, k, folder)


def _find_and_draw(engine: Engine, ecgs: list, k: int, folder: Path | None) -> None:
    from ..loading import resolve_source
    try:
        for ecg in ecgs:
            for hit in engine.search(ecg, k):
                resolved = resolve_source(folder, hit[2]) if folder is not None else None
                if resolved:
                    _thumbnail(str(resolved[0]), resolved[1], str(hit[2]))
    except Exception:  # noqa: BLE001 - only a head start: the page itself reports what fails
        pass


_READ_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mets-read-ahead")


@functools.lru_cache(maxsize=256)     # not st.cache_data: the read-ahead thread draws them too
def _thumbnail(path: str, start_s: float = 0.0, title: str = "") -> str | None:
    """A lead II strip (inline SVG) of a corpus record in the user's data folder (None if it cannot be read);
    only its 10 s are decoded (a hit in a 30-min Holter record took 30-70 ms to read whole)."""
    from mets_core import read_ecg
    try:
        ecg = read_ecg(path, start_s=start_s, end_s=start_s + THUMBNAIL_S)
        return plotting.thumbnail(ecg, seconds=THUMBNAIL_S, title=title)
    except Exception:
        return None
