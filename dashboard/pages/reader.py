"""The reading room: one ECG on paper with its measurements, the ranking of the phrases typed, the file's
own labels, why a phrase scored as it did, similar reports of the corpus and the printable report.

Redrawing only what changed: the tracing with its controls, the ranking with "why", retrieval and the
median beats are fragments (a gain, a phrase or a "reports to show" change reruns only its own part); page
navigation of a long recording changes the stretch everything describes, so it redraws the page. The
measurements (and a long recording's beats for the overview) start first and run in a measuring process
while the ranking and the similar reports are computed; the tracing (which carries their fiducial marks),
the measurements and the overview are then drawn in their places above.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import engine as engines
from dashboard import session
from dashboard.panels import header, measurements, navigation, prompts, ranking, report, retrieval, tracing, why
from dashboard.panels.common import guard


def empty_state() -> None:
    from dashboard.demo import DEMOS
    from dashboard.panels.sidebar import open_demo

    st.markdown(
        '<div class="empty"><h3>Open an ECG to begin</h3>'
        '<p>Use the sidebar: <b>upload</b> files (WFDB .hea + .dat, Challenge .hea + .mat, .zip, CSV, NumPy, '
        'DICOM; several at once), open a <b>synthetic demo</b>, or download a <b>PhysioNet</b> record.</p>'
        '<p>You will see the 12 leads on ECG paper, automated intervals, a live ranking of any phrases you '
        'type, why a phrase scored as it did, and the most similar reports of the pretraining corpus.</p>'
        '</div>', unsafe_allow_html=True)
    st.button("Open the synthetic demo ECG", key="empty_demo", type="primary", on_click=open_demo,
              args=(next(iter(DEMOS)),))
    preload_chart_library()


def preload_chart_library() -> None:
    """An empty, hidden Plotly chart: the browser loads and compiles the chart library (~1.5 s of CPU on
    the 2-core reference machine) while the reader picks a file, instead of after their first upload."""
    import plotly.graph_objects as go
    with st.container(key="chart_library_preload"):        # hidden by styles.CSS
        st.plotly_chart(go.Figure(layout=dict(height=10, width=10)), key="chart_library_preload_figure",
                        config={"staticPlot": True, "displayModeBar": False})


def measured_stretch(rec: session.Record, scope: session.Scope) -> tuple[float | None, float | None]:
    """(start, seconds) the measurements describe (the first the summary tries): the page on screen, the
    first minute of the whole-recording summary, or (None, None) for the whole of a short record."""
    return (0.0, engines.SUMMARY_S) if rec.is_long and scope.whole else session.page_stretch(rec, scope.start_s)


def measurement_check(rec: session.Record, scope: session.Scope, view) -> None:
    """Under the ranking, when a phrase stands out that a measurement can contradict (a rate statement, a sinus
    rhythm: RankingView.needs_measurement): what the measurements of the same stretch say against it
    (RankingView.measurement_disagreements: the rate, an irregular rhythm without P waves). It waits for the
    measurement (made in its own process meanwhile), so it is called only then; not in the whole-recording
    summary, whose ranking averages every window while its measurements are one minute's. A failed measurement
    leaves it unsaid (the measurements panel says why)."""
    try:
        measured = engines.measurements(rec.key, rec.ecg, *measured_stretch(rec, scope))
    except Exception:  # noqa: BLE001
        return
    for words in view.measurement_disagreements(measured):
        st.warning(words, icon="⚠️")


def measured_where(rec: session.Record, m, scope: session.Scope, passed=()) -> str:
    if not rec.is_long:
        return ""
    span = f"{session.hms(m.start_s)}–{session.hms(m.start_s + m.seconds_analysed)}"
    where = f"Measured on {span}"
    if not scope.whole:
        return where + " (the page on screen)"
    if m.covers_whole(rec.ecg):     # a recording shorter than the minute the summary measures: all of it
        return f"Measured on the whole recording, {span}" + whole_record_rate(rec)
    skipped = "; ".join(f"{session.hms(p.start_s)}–{session.hms(p.start_s + p.seconds_analysed)}: "
                        f"{p.notes.get('qrs', 'QRS not measurable')}" for p in passed)
    return (where + " (the whole-recording summary measures the intervals on the first minute"
            + (f" whose QRS could be measured, passing over {skipped}" if skipped else "")
            + "; the heart-rate box gives the rate of that minute)" + whole_record_rate(rec))


def whole_record_rate(rec: session.Record) -> str:
    """The whole recording's heart rate, as a Holter summary gives it, from the overview's beats (when they are
    found already): its mean and its slowest and fastest minute; "" until then."""
    try:
        trend = engines.heart_rate_trend(rec.key, rec.ecg, wait_s=0.0)
    except Exception:  # noqa: BLE001 - the overview's own place says what went wrong
        return ""
    if trend is None or trend.lead is None or trend.mean_bpm is None:
        return ""
    starts, rates = trend.by_minute()
    text = f". The whole recording: mean {trend.mean_bpm:.0f} bpm over its {len(trend.beat_s) + 1:,} beats"
    if len(rates) > 1:          # one minute is both the slowest and the fastest: nothing to say
        slow, fast = int(np.argmin(rates)), int(np.argmax(rates))
        text += (f"; by the minute (median rate), slowest {rates[slow]:.0f} bpm at {session.hms(starts[slow])}, "
                 f"fastest {rates[fast]:.0f} bpm at {session.hms(starts[fast])}")
    return text + " (the overview's beats: found, not checked beat by beat)"


@st.fragment
def tracing_fragment(engine: engines.Engine, rec: session.Record, start_s: float, m) -> None:
    with guard("The tracing"):
        sal, sal_key, prompt = None, (), why.overlay_prompt(rec)
        if prompt and engine.model is not None:
            with guard("The saliency overlay"):
                sal = why.explain(engine, rec, prompt)
                sal_key = (prompt, session.saliency_window(rec), engine.model.weights_sha256)
        tracing.tracing_panel(rec, start_s, m, saliency=sal, saliency_key=sal_key,
                              saliency_offset_s=session.saliency_window(rec)[0], overlay_prompt=prompt)


@st.fragment
def median_beats_fragment(m) -> None:
    """Built only while open (a lazy expander): most readers never open it, and it is the page's second
    largest figure."""
    with guard("Median beats"):
        session.restore("median_beats_open")        # open again after another page, as it was left
        beats = st.expander("Median beats: where the intervals were measured", key="median_beats_open",
                            on_change="rerun")
        session.keep("median_beats_open")
        if beats.open:
            with beats:
                measurements.median_beats_panel(m)


@st.fragment(run_every=1.0)
def overview_pending(rec: session.Record) -> None:
    """Until the whole recording's beats are found: a note, looked at again every second (only this note is
    rerun), then the whole page once, which draws the overview in its place and stops the checking."""
    try:
        done = engines.heart_rate_trend(rec.key, rec.ecg, wait_s=0.0) is not None
    except Exception:  # noqa: BLE001 - the whole page's run shows what went wrong, in its place
        done = True
    if done:
        st.rerun()
    st.markdown(f'<div role="status" aria-live="polite" class="meas-note">Finding the beats of the whole recording '
                f'({session.hms(rec.ecg.duration)}) for the heart-rate overview; the page on screen is measured and '
                f'ranked already.</div>', unsafe_allow_html=True)


@st.fragment
def ranking_fragment(engine: engines.Engine, rec: session.Record, scope: session.Scope):
    left, right = st.columns([1.35, 1], gap="large")
    result = None
    with left:
        st.markdown("### How well the ECG matches each phrase")
        with guard("Ranking"):
            phrases = prompts.prompt_controls(template_set=engine.template_set(),
                                              templates=engine.templates("diagnostic"))
            result = ranking.ranking_panel(engine, scope.ecg, phrases, scope.words)
            if result and not scope.whole and result[1].needs_measurement:
                measurement_check(rec, scope, result[1])
    with right:
        with guard("The file's own labels"):
            page = None if not rec.is_long or scope.whole else \
                (scope.start_s, min(rec.ecg.duration, scope.start_s + session.PAGE_S))
            header.file_labels_panel(rec, rank_these=prompts.replace, view=result[1] if result else None, page=page)
        with guard("The explanation"):
            why.why_panel(engine, rec, result[1] if result else None)
    return result


@st.fragment
def retrieval_fragment(engine: engines.Engine, scope: session.Scope, recording) -> None:
    with guard("Retrieval"):
        retrieval.retrieval_panel(engine, scope.ecg, scope.words, folder=session.data_dir(), recording=recording)


def reader_page(engine: engines.Engine, rec: session.Record | None) -> None:
    st.markdown('<h1 class="sr">Reader</h1>', unsafe_allow_html=True)      # the page's heading, for screen readers
    if rec is None:
        empty_state()
        return
    with guard("The recording header"):
        header.record_header(rec)
    scope = session.scope(rec)
    stretch = measured_stretch(rec, scope)
    measured = engines.start_measuring(rec.key, rec.ecg, *stretch)
    overview_slot = None
    if rec.is_long:
        # the whole recording's beats (~0.2-0.3 s for 30 min, ~9 s for a day), found in a process of their own
        # while the page is measured: the paper and its numbers come first, the overview last, drawn above them
        engines.start_trend(rec.key, rec.ecg)
        with guard("Page navigation"):
            navigation.page_navigation(rec)
        overview_slot = st.container()
    tracing_slot, measurements_slot, ranking_slot = st.container(), st.container(), st.container()
    st.divider()
    retrieval_slot = st.container()

    def paper_and_measurements():
        m, passed = None, []
        with measurements_slot, guard("Measurements"):
            if scope.whole:
                m, passed = engines.summary_measurements(rec.key, rec.ecg)
            else:
                m = engines.measurements(rec.key, rec.ecg, *stretch)
        with tracing_slot:
            tracing_fragment(engine, rec, scope.start_s, m)
        if m is not None:
            with measurements_slot:
                with guard("Measurements"):
                    measurements.measurements_panel(m, measured_where(rec, m, scope, passed))
                median_beats_fragment(m)
        return m

    def ranking_and_retrieval():
        with ranking_slot:
            result = ranking_fragment(engine, rec, scope)
        with retrieval_slot:
            retrieval_fragment(engine, scope, rec.ecg)
        return result

    if measured:     # measured ahead (the next page, an ECG opened before): the paper goes first, and the
        m = paper_and_measurements()           # browser draws it while the ranking and reports are found
        result = ranking_and_retrieval()
    else:            # measured in the measuring process meanwhile
        result = ranking_and_retrieval()
        m = paper_and_measurements()
    if overview_slot is not None:
        with overview_slot, guard("The heart-rate overview"):
            trend = engines.heart_rate_trend(rec.key, rec.ecg, wait_s=engines.overview_wait_s(rec.ecg))
            if trend is None:            # a day-long recording: the page is usable meanwhile
                overview_pending(rec)
            else:
                navigation.overview(rec, trend)
    with guard("The printable report"):
        report.report_download(rec, engine, m, result[1] if result else None, scope.words, scope.start_s,
                               tracing.rhythm_lead(), scope.whole)
    if stretch[0] is not None:
        # the pages a reader most likely opens next ("Next ▶", and again): measured, embedded, their similar
        # reports found and their paper built while they read this one. Two ahead, so that paging quickly
        # finds each page ready (a page takes ~0.1-0.3 s of CPU to measure, ~0.05-0.3 s to embed and
        # retrieve, ~0.02-0.04 s to build its paper).
        ahead = session.pages_ahead(rec, 2)
        for start in ahead:
            engines.start_measuring(rec.key, rec.ecg, start, session.PAGE_S)
        retrieval.read_ahead(engine, [session.page_ecg(rec, start) for start in ahead],
                             retrieval.hits_shown(), session.data_dir())
        if not why.overlay_prompt(rec):           # their paper too, with its marks once they are measured
            tracing.read_ahead(rec, ahead, session.PAGE_S,
                               lambda start, seconds: engines.measurements(rec.key, rec.ecg, start, seconds))


reader_page(engines.get_engine(), session.current_record())
