"""Long recordings: previous/next page, a time box (h:mm:ss), a heart-rate overview to click, and the
choice between the page on screen and the whole recording for measurements, ranking and "why"."""
from __future__ import annotations

import math

import streamlit as st

from .. import plotting, session
from ..session import PAGE_S, Record, hms
from .common import esc


def _typed_time(rec: Record) -> None:
    text = st.session_state.get(f"goto_{rec.key}", "").strip()
    try:
        # h:mm:ss, m:ss or seconds; a leading minus belongs to the whole time ("-0:00:05" is before the start)
        sign = -1.0 if text.startswith(("-", "−")) else 1.0
        parts = [float(p) for p in (text[1:] if sign < 0 else text).split(":")]
        if not 1 <= len(parts) <= 3 or not all(math.isfinite(v) and v >= 0 for v in parts):
            raise ValueError(text)
        seconds = sign * sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    except ValueError:
        # kept under the ECG it was typed for (another ECG's navigation does not show it; closing it forgets it)
        st.session_state[_error_key(rec)] = (f"“{text}” is not a time. Type it as h:mm:ss, m:ss or seconds, "
                                             f"e.g. 0:12:30.")
        return
    st.session_state.pop(_error_key(rec), None)
    session.set_page_start(rec, seconds)
    st.session_state[f"goto_{rec.key}"] = ""         # the box shows where the page is (its placeholder) again
    if seconds < 0 or seconds > rec.ecg.duration:
        st.session_state["nav_note"] = (f"“{text}” is outside the recording (0:00:00–{hms(rec.ecg.duration)}): "
                                        f"showing its {'first' if seconds < 0 else 'last'} page.")


def page_navigation(rec: Record) -> None:
    """Previous/next, go to h:mm:ss, where the page is, and the whole-recording switch."""
    ecg = rec.ecg
    start = session.page_start(rec)

    def step(delta):
        clear_message()                  # a page turned: the time typed wrong before is no longer the news
        session.set_page_start(rec, session.page_start(rec) + delta)

    c1, c2, c3, c4, c5 = st.columns([1.35, 1.1, 1.6, 2.4, 2.8])     # "◀ Previous" whole on a 13-inch laptop
    c1.button("◀ Previous", key=f"prev_{rec.key}", on_click=step, args=(-PAGE_S,), disabled=start <= 0,
              help="The previous 10 s page")
    c2.button("Next ▶", key=f"next_{rec.key}", on_click=step, args=(PAGE_S,),
              disabled=start + PAGE_S >= ecg.duration, help="The next 10 s page")
    c3.text_input("Go to (h:mm:ss)", key=f"goto_{rec.key}", on_change=_typed_time, args=(rec,),
                  placeholder=hms(start))
    c4.markdown(f'<div class="page-span" data-testid="mets-page-span" data-start-s="{start:g}">Showing <b>'
                f'{hms(start)}–{hms(min(ecg.duration, start + PAGE_S))}</b> of {esc(hms(ecg.duration))}</div>',
                unsafe_allow_html=True)
    session.restore(f"whole_{rec.key}")      # kept while other pages, or other ECGs, are shown
    c5.toggle("Whole-recording summary", key=f"whole_{rec.key}",
              help="Off: measurements, ranking, “why” and similar reports follow the page on screen. On: the "
                   "ranking, “why” and similar reports describe the whole recording (the ranking averages all 10 s "
                   "windows); the intervals, and the heart-rate box, are measured on its first minute that allows it, "
                   "beside the whole recording's mean, slowest and fastest heart rate in words.")
    session.keep(f"whole_{rec.key}")
    wrong = st.session_state.get(_error_key(rec))
    if wrong:
        st.error(wrong)
    note = st.session_state.pop("nav_note", None)
    if note:
        st.info(note)


def overview(rec: Record, trend) -> None:
    """The heart-rate overview of the whole recording (click to jump), the page's place under it and the
    file's beat labels. `trend`: mets_core.measure.heart_rate_trend of the whole recording."""
    ecg = rec.ecg
    start = session.page_start(rec)
    if trend.lead is None:
        st.caption("Heart-rate overview unavailable: no beats could be found.")
        return
    fig = _overview(rec.key, rec.beats.source if rec.beats is not None else None, rec, trend)
    # each click jumps once, then the chart starts afresh (a new key: no selection kept), so that the same
    # point clicked again after paging away jumps again (a selection kept would not change)
    jumps = st.session_state.get(_jumps_key(rec), 0)
    event = st.plotly_chart(fig, width="stretch", key=f"hr_overview_{jumps}_{rec.key}", on_select="rerun",
                            alt="Heart rate over the whole recording: click a point to open that page",
                            selection_mode="points", config={"displayModeBar": False, "scrollZoom": False})
    page_strip(start, min(ecg.duration, start + PAGE_S), ecg.duration)
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", []) or []
    if points:
        st.session_state[_jumps_key(rec)] = jumps + 1
        clear_message()
        session.set_page_start(rec, max(0.0, float(points[0].get("x", start)) - PAGE_S / 2))
        st.rerun()
    leads = str(trend.lead)
    st.caption(f"Heart rate over the whole recording (beats found on {'leads' if ',' in leads else 'lead'} "
               f"{leads}; median per "
               f"{plotting.overview_bin_s(ecg.duration):.2g} s); the bar under it marks the page on screen. Click a "
               f"point to open that moment.")
    if rec.beats is not None:
        beat_labels(rec.beats, rec.ecg, start, min(ecg.duration, start + PAGE_S))


@st.cache_resource(show_spinner=False, max_entries=16)
def _overview(key: str, beats_source: str | None, _rec: Record, _trend):
    """The overview of one recording (content hash `key`, beat labels from `beats_source`): built once and
    the same object on every page of it, so Streamlit sends it once and the browser does not redraw it."""
    labels = None
    if _rec.beats is not None:
        classes = _rec.beats.aami
        labels = {c: _rec.beats.sample[classes == c] / _rec.ecg.fs for c in plotting.BEAT_MARKS}
    return plotting.heart_rate_overview(_trend.beat_s, _trend.bpm, _rec.ecg.duration, labels=labels)


def page_strip(start_s: float, end_s: float, duration: float) -> None:
    """Where the page on screen lies in the recording: a bar under the overview, aligned to its plot area."""
    m = plotting.OVERVIEW_MARGIN
    left, width = 100 * start_s / duration, 100 * (end_s - start_s) / duration
    st.markdown(f'<div class="page-strip" data-testid="mets-page-strip" data-start-s="{start_s:g}" '
                f'style="margin: 0 {m["r"]}px 0 {m["l"]}px" title="The page on screen">'
                f'<span style="left:{left:.3f}%;width:{width:.3f}%"></span></div>', unsafe_allow_html=True)


PAGE_RHYTHM = "Rhythm the file marks for the page on screen"


def page_rhythms(beats, ecg, start_s: float, end_s: float) -> list[str]:
    """The rhythms the file's annotations (mets_core.readers.beat_labels.Beats) mark from `start_s` to `end_s`
    of `ecg`, in words (the page on screen; the PDF's strip)."""
    from mets_core.readers.beat_labels import rhythm_words
    return [rhythm_words(n) for n in beats.rhythms_between(int(start_s * ecg.fs), int(end_s * ecg.fs), ecg.n_samples)]


def beat_labels(beats, ecg, start_s: float, end_s: float) -> None:
    """The file's own beat labels, counted by class, beside the overview, and the rhythm it marks for the page
    on screen (`start_s` to `end_s` of `ecg`), to hold the page's ranking against."""
    from mets_core.readers.beat_labels import CLASS_WORDS
    counts = beats.counts()
    items = "".join(f'<li data-class="{c}" data-count="{n}"><b>{c}</b> {n:,} <span>{esc(CLASS_WORDS[c])}</span></li>'
                    for c, n in counts.items())
    rhythms = page_rhythms(beats, ecg, start_s, end_s)
    rhythm = (f'<div class="page-rhythm" data-testid="mets-page-rhythm">{PAGE_RHYTHM}: '
              f'<b>{esc(", ".join(rhythms))}</b></div>' if rhythms else "")
    st.markdown(f'<div class="beat-labels" data-testid="mets-beat-labels" data-source="{esc(beats.source)}">'
                f'Beat labels in <b>{esc(beats.source)}</b> (the file\'s own annotations, not checked by this tool):'
                f'<ul>{items}</ul>Marks above the heart rate: ▲ V, ◆ S, ■ F, ✕ Q, one per stretch that has such '
                f'beats; click one to open that moment.{rhythm}</div>', unsafe_allow_html=True)


NAV_ERROR = "nav_error_"


def _jumps_key(rec: Record) -> str:
    """How many times the overview of `rec` was clicked: ending in _<its key>, as session.remove_record forgets."""
    return f"overview_jumps_{rec.key}"


def _error_key(rec: Record) -> str:
    """Where the wrong time typed for `rec` is kept: ending in _<its key>, as session.remove_record forgets."""
    return f"{NAV_ERROR}{rec.key}"


def clear_message() -> None:
    """A navigation message belongs to the page it was shown on."""
    for name in [k for k in st.session_state if isinstance(k, str) and k.startswith(NAV_ERROR)]:
        del st.session_state[name]
