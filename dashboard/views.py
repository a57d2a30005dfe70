"""The dashboard's pages and panels. Each panel runs inside `guard`, so one failure shows a message in
its place (never a traceback) and the rest of the page keeps working."""
from __future__ import annotations

import html
import io
import json
import math
from contextlib import contextmanager

import numpy as np
import streamlit as st

from mets_core.ecg import ECGReadError, STANDARD_LEADS
from mets_core.prompts import clean_phrase

from . import plotting
from .state import Engine, Record

MAX_PROMPTS = 60
MAX_PROMPT_CHARS = 200
DEFAULT_PRESET = "Rhythm"
DISCLAIMER = ("Research use only — not a medical device. Scores are similarities between the ECG and "
              "each phrase under the model, not diagnoses.")


@contextmanager
def guard(what: str):
    """Show a failure of one panel as a message in the page; never let a traceback reach the browser."""
    try:
        yield
    except ECGReadError as err:
        st.error(f"{what}: {err}")
    except Exception as err:  # noqa: BLE001 - the page must survive any panel's failure
        detail = str(err).splitlines()[0][:300] if str(err) else ""
        st.error(f"{what} failed ({type(err).__name__}{': ' + detail if detail else ''}). "
                 f"The rest of the page still works.")


def esc(text) -> str:
    return html.escape(str(text), quote=True)


# ----------------------------------------------------------------------------------------- prompts

def parse_prompts(text: str) -> tuple[list[str], list[str]]:
    """(prompts, warnings): one prompt per line, blank lines and duplicates dropped, capped."""
    prompts, seen, warnings = [], set(), []
    for line in (text or "").splitlines():
        p = " ".join(line.split())
        if not p or p.lower() in seen:
            continue
        try:
            clean_phrase(p)
        except ValueError:          # a line of only full stops: nothing to embed
            warnings.append(f"the line {p!r} has no words and was skipped")
            continue
        if len(p) > MAX_PROMPT_CHARS:
            p = p[:MAX_PROMPT_CHARS]
            warnings.append(f"a prompt longer than {MAX_PROMPT_CHARS} characters was shortened")
        seen.add(p.lower())
        prompts.append(p)
    if len(prompts) > MAX_PROMPTS:
        warnings.append(f"only the first {MAX_PROMPTS} of {len(prompts)} prompts are ranked")
        prompts = prompts[:MAX_PROMPTS]
    return prompts, warnings


def current_prompts() -> list[str]:
    from mets_core.prompts import PRESETS, clean_phrase
    text = st.session_state.get("prompts_text")
    if text is None:
        text = "\n".join(PRESETS.get(DEFAULT_PRESET, []))
    return parse_prompts(text)[0]


# ------------------------------------------------------------------------------------ record header

def record_header(rec: Record) -> None:
    ecg = rec.ecg
    n_present = int(ecg.lead_mask.sum())
    chips = "".join(
        f'<span class="lead-chip {"on" if present else "off"}" title="{"recorded" if present else "not recorded"}">'
        f'{lead}{"" if present else " <span class=sr>not recorded</span>"}</span>'
        for lead, present in zip(STANDARD_LEADS, ecg.lead_mask))
    badges = ""
    if rec.synthetic:
        badges += '<span class="badge synthetic">SYNTHETIC — not a patient</span>'
    badges += f'<span class="badge origin">{esc(rec.origin)}</span>'
    labels = file_labels_of(rec)
    who = " · ".join(x for x in (f"age {labels.age}" if labels.age else "",
                                 labels.sex or "") if x) if labels is not None else ""
    st.markdown(
        f'<div class="rec-head"><div class="rec-title">{esc(rec.label)} {badges}</div>'
        f'<div class="rec-meta">{"<b>" + esc(who) + "</b> · " if who else ""}<b>{ecg.fs:g} Hz</b> · '
        f'{esc(duration_words(ecg.duration))} · '
        f'{n_present} of 12 leads recorded · {ecg.n_samples:,} samples per lead</div>'
        f'<div class="lead-chips">{chips}</div></div>', unsafe_allow_html=True)
    notes = ecg.metadata.get("comments", "").strip()
    extra = {k: v for k, v in ecg.metadata.items() if k in ("lead_sources", "dropped_leads", "units", "source",
                                                             "uploaded_files", "source_format")}
    if notes or extra:
        with st.expander("Recording details from the file"):
            if notes:
                # Header comments can carry names, birth dates or record numbers: shown only on request,
                # per ECG (nothing of them reaches the browser until then).
                if st.toggle("Show header comments", key=f"show_comments_{rec.key}", value=False,
                             help="WFDB/CSV header comments may contain patient identifiers."):
                    st.text(notes[:4000])
                else:
                    n_lines = len(notes.splitlines())
                    st.caption(f"{n_lines} header comment line{'s' if n_lines != 1 else ''} hidden: they may "
                               f"contain patient identifiers.")
            for k, v in extra.items():
                st.caption(f"{k.replace('_', ' ')}: {str(v)[:400]}")


def duration_words(seconds: float) -> str:
    from .state import hms
    return f"{seconds:.1f} s" if seconds < 60 else f"{hms(seconds)} ({seconds:,.0f} s)"


def file_labels_of(rec: Record):
    from mets_core.file_labels import file_labels
    try:
        return file_labels(rec.ecg)
    except Exception:  # noqa: BLE001 - the header is a convenience, never a reason to fail the page
        return None


def file_labels_panel(rec: Record) -> None:
    """What the file itself says (its own diagnosis codes decoded into words), beside the ranking."""
    labels = file_labels_of(rec)
    st.markdown("#### What the file says")
    if labels is None or not labels.labels:
        st.markdown('<div class="file-labels none" data-testid="mets-file-labels">This file carries no diagnosis '
                    'labels the reader recognises.</div>', unsafe_allow_html=True)
        return
    items = []
    for lab in labels.labels:
        src = lab.source + (f" {lab.code}" if lab.code else "")
        like = f" ({lab.likelihood:.0f}% likely)" if lab.likelihood else ""
        items.append(f'<li class="{"" if lab.known else "undecoded"}" title="{esc(src)}">{esc(lab.text)}{esc(like)}'
                     f'<span class="src"> · {esc(lab.source)}</span></li>')
    st.markdown(f'<div class="file-labels" data-testid="mets-file-labels"><ul>{"".join(items)}</ul>'
                f'<div class="fl-note">As written in the file (codes decoded into words); not checked by this '
                f'tool.</div></div>', unsafe_allow_html=True)
    phrases = [lab.text for lab in labels.labels if lab.known and lab.source != "header text"] or \
              [lab.text.split(":")[-1].strip() for lab in labels.labels if lab.source == "header text"]
    def use_labels():
        st.session_state["prompts_text"] = "\n".join(dict.fromkeys(p for p in phrases if p))
        st.session_state["custom_prompts"] = st.session_state["prompts_text"]
        st.session_state["preset"] = CUSTOM

    if phrases:
        st.button("Rank the file's own labels", key=f"rank_file_labels_{rec.key}", on_click=use_labels,
                  help="Puts these labels in the phrase box so you can compare them with the model.")


# ------------------------------------------------------------------------------------- measurements

def _fmt(value, unit: str, digits: int = 0) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return f"{value:.{digits}f}{unit}"


QUALITY_SHAPES = {"Excellent": ("●", "good", "q-good"), "Barely acceptable": ("◐", "fair", "q-fair"),
                  "Unacceptable": ("✕", "unusable", "q-bad"), "Not recorded": ("○", "absent", "q-none")}


def measurements_panel(m, scope: str = "") -> None:
    cells = [
        ("Heart rate", _fmt(m.heart_rate_bpm, " bpm"), m.notes.get("rate"), ""),
        ("RR", _fmt(m.rr_ms, " ms"), m.notes.get("rate"),
         "irregular" if getattr(m, "rr_irregular", None) else ""),
        ("PR", _fmt(m.pr_ms, " ms"), m.notes.get("pr"), ""),
        ("QRS", _fmt(m.qrs_ms, " ms"), m.notes.get("qrs"), ""),
        ("QT", _fmt(m.qt_ms, " ms"), m.notes.get("qt"), ""),
        ("QTc Bazett", _fmt(m.qtc_ms, " ms"), m.notes.get("qtc"), ""),
        ("QTc Fridericia", _fmt(getattr(m, "qtc_fridericia_ms", None), " ms"), m.notes.get("qtc"), ""),
        ("QTc Framingham", _fmt(getattr(m, "qtc_framingham_ms", None), " ms"), m.notes.get("qtc"), ""),
        ("Frontal axis", _fmt(m.axis_deg, "°"), m.notes.get("axis"), ""),
    ]
    html_cells = []
    for label, value, note, flag in cells:
        if value is None:
            short = "not applicable" if note and "not applicable" in note else "not measurable"
            html_cells.append(f'<div class="meas na" title="{esc(note or short)}">'
                              f'<div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">{short}</div>'
                              f'<div class="meas-note">{esc(note or "")}</div></div>')
        else:
            html_cells.append(f'<div class="meas"><div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">{esc(value)}</div>'
                              + (f'<div class="meas-note">{esc(flag)}</div>' if flag else "") + '</div>')
    scope_html = f'<div class="rank-scope">{esc(scope)}</div>' if scope else ""
    st.markdown(f'{scope_html}<div class="meas-row" data-testid="mets-measurements">{"".join(html_cells)}</div>',
                unsafe_allow_html=True)
    alerts = []
    if getattr(m, "limb_lead_reversal", None):
        alerts.append(f'<div class="alert" data-testid="mets-reversal">⚠ <b>Check the electrodes:</b> '
                      f'{esc(m.limb_lead_reversal)}.</div>')
    for w in getattr(m, "warnings", []) or []:
        alerts.append(f'<div class="caveat">ⓘ {esc(w)}</div>')
    if alerts:
        st.markdown("".join(alerts), unsafe_allow_html=True)
    quality_chips = []
    noise = getattr(m, "lead_noise", {}) or {}
    for lead in STANDARD_LEADS:
        q = m.lead_quality.get(lead, "Not recorded")
        shape, word, cls = QUALITY_SHAPES.get(q, ("?", q, "q-none"))
        sqi = m.lead_sqi.get(lead)
        tip = (f"{lead}: {word}" + (f"; {noise[lead]}" if lead in noise else "")
               + (f" (beat-to-beat similarity {sqi:.2f})" if sqi is not None else ""))
        quality_chips.append(f'<span class="qchip {cls}" title="{esc(tip)}" aria-label="{esc(tip)}">'
                             f'{shape} {lead}</span>')
    where = (f"beats found in lead {m.interval_lead}; intervals from the median of "
             f"{getattr(m, 'n_median_beats', 0) or m.n_beats} beats over all good leads, "
             f"{m.seconds_analysed:g} s" if m.interval_lead else "no lead was good enough to measure")
    noisy = [f"{lead}: {v}" for lead, v in noise.items()]
    st.markdown(
        f'<div class="meas-foot">Automated; {esc(where)} — check them on the median beats below. '
        f'Signal quality per lead: {"".join(quality_chips)} '
        f'<span class="legend">● good ◐ fair ✕ unusable ○ absent</span>'
        + (f'<div class="noise">Noise: {esc("; ".join(noisy))}</div>' if noisy else "") + '</div>',
        unsafe_allow_html=True)


def median_beats_panel(m) -> None:
    fig = plotting.median_beats(m)
    if fig is None:
        st.caption("No median beats: too few clean beats to build them.")
        return
    st.plotly_chart(fig, width="stretch", key="median_beats", config={"displayModeBar": False,
                                                                       "scrollZoom": False})
    st.caption("Median beat of each good lead (50 mm/s, 10 mm/mV). Vertical lines: the global P onset, QRS "
               "onset, QRS end and T end the intervals were measured from; the same marks are drawn under "
               "each beat of the tracing.")


# ------------------------------------------------------------------------------------------ tracing

LAYOUTS = {"3×4 + rhythm strip": "3x4", "12×1": "12x1", "recorded leads only": "recorded"}


def page_navigation(rec: Record) -> None:
    """Long recordings: previous/next page, a time box (h:mm:ss), a heart-rate overview to click, and the
    choice between the page on screen and the whole recording for measurements, ranking and "why"."""
    from .state import PAGE_S, heart_rate_trend, hms, page_start, set_page_start

    ecg = rec.ecg
    start = page_start(rec)
    key = f"start_{rec.key}"

    def step(delta):
        set_page_start(rec, page_start(rec) + delta)

    def typed():
        text = st.session_state.get(f"goto_{rec.key}", "").strip()
        try:
            parts = [float(p) for p in text.split(":")]
            seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
        except ValueError:
            st.session_state["nav_error"] = (f"“{text}” is not a time. Type it as h:mm:ss, m:ss or seconds, "
                                             f"e.g. 0:12:30.")
            return
        st.session_state["nav_error"] = None
        set_page_start(rec, seconds)

    c1, c2, c3, c4, c5 = st.columns([1, 1, 1.6, 3.2, 2.2])
    c1.button("◀ Previous", key=f"prev_{rec.key}", on_click=step, args=(-PAGE_S,), disabled=start <= 0,
              help="The previous 10 s page")
    c2.button("Next ▶", key=f"next_{rec.key}", on_click=step, args=(PAGE_S,),
              disabled=start + PAGE_S >= ecg.duration, help="The next 10 s page")
    c3.text_input("Go to (h:mm:ss)", key=f"goto_{rec.key}", on_change=typed, placeholder=hms(start))
    c4.markdown(f'<div class="page-span" data-testid="mets-page-span">Showing <b>{hms(start)}–'
                f'{hms(min(ecg.duration, start + PAGE_S))}</b> of {hms(ecg.duration)}</div>',
                unsafe_allow_html=True)
    c5.toggle("Whole-recording summary", key=f"whole_{rec.key}",
              help="Off: measurements, ranking, “why” and similar reports follow the page on screen. On: "
                   "they describe the whole recording (the ranking averages all 10 s windows).")
    if st.session_state.get("nav_error"):
        st.error(st.session_state["nav_error"])
    if st.session_state.get(key) is None:
        st.session_state[key] = 0.0
    trend = heart_rate_trend(rec.key, ecg)
    if trend.lead is None:
        st.caption("Heart-rate overview unavailable: no beats could be found.")
        return
    fig = plotting.heart_rate_overview(trend.beat_s, trend.bpm, (start, min(ecg.duration, start + PAGE_S)),
                                       ecg.duration)
    event = st.plotly_chart(fig, width="stretch", key=f"hr_overview_{rec.key}", on_select="rerun",
                            selection_mode="points", config={"displayModeBar": False, "scrollZoom": False})
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", []) or []
    if points:
        t = float(points[0].get("x", start))
        target = max(0.0, t - PAGE_S / 2)
        if abs(target - st.session_state.get(f"jumped_{rec.key}", -1.0)) > 1e-6:
            st.session_state[f"jumped_{rec.key}"] = target
            set_page_start(rec, target)
            st.rerun()
    st.caption(f"Heart rate over the whole recording (lead {trend.lead}, median per "
               f"{max(2.0, ecg.duration / 600.0):.0f} s); the shaded band is the page on screen. Click a point "
               f"to open that moment.")


def tracing_panel(rec: Record, engine: Engine, m=None) -> None:
    from .state import is_long, page_start, saliency_window

    ecg = rec.ecg
    few = int(ecg.lead_mask.sum()) <= 3
    layouts = list(LAYOUTS)
    if st.session_state.get("layout_set_for") != rec.key:    # a newly opened ECG: 1-3 leads get their own rows
        st.session_state["layout_set_for"] = rec.key
        if few:
            st.session_state["layout"] = "recorded leads only"
        elif st.session_state.get("layout") == "recorded leads only":
            st.session_state["layout"] = layouts[0]
    c1, c2, c3, c4 = st.columns([2.6, 1.4, 1.2, 1.4])
    layout = c1.radio("Layout", layouts, horizontal=True, key="layout")
    gain = c2.radio("Gain (mm/mV)", plotting.GAINS, index=1, horizontal=True, key="gain")
    speed = c3.radio("Speed (mm/s)", plotting.SPEEDS, index=0, horizontal=True, key="speed")
    present = list(ecg.leads) or [plotting.RHYTHM_LEAD]
    if st.session_state.get("rhythm_lead") not in present:
        st.session_state["rhythm_lead"] = plotting.RHYTHM_LEAD if plotting.RHYTHM_LEAD in present else present[0]
    rhythm = c4.selectbox("Rhythm strip lead", present, key="rhythm_lead")
    start = page_start(rec) if is_long(rec) else 0.0
    sal = None
    overlay_prompt = st.session_state.get("why_prompt") if st.session_state.get("why_overlay") else None
    if overlay_prompt and engine.model is not None:
        with guard("The saliency overlay"):
            sal = _saliency(engine, rec, overlay_prompt)
    marks = None
    if m is not None and st.session_state.get("show_marks", True) and getattr(m, "fiducials_s", None):
        marks = {plotting.FIDUCIAL_NAMES[k]: [r + t for r in m.r_peaks_s] for k, t in m.fiducials_s.items()
                 if k in plotting.FIDUCIAL_NAMES}
    mode = LAYOUTS.get(layout, "3x4")
    fig = plotting.ecg_paper(ecg, layout=mode, gain=gain, speed=speed, start_s=start, saliency=sal,
                             saliency_offset_s=saliency_window(rec)[0], rhythm_lead=rhythm, marks=marks)
    event = st.plotly_chart(
        fig, width="stretch", key="paper", on_select="rerun", selection_mode="box",
        config={"displaylogo": False, "scrollZoom": False,
                "modeBarButtonsToRemove": ["lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"filename": "ecg"}})
    caliper(event, speed, gain)
    notes = ["Mouse wheel scrolls the page; zoom with the + / − buttons at the top right of the tracing, "
             "drag to pan. Hover a trace to read time and amplitude."]
    if marks:
        notes.append("Coloured ticks under each beat: P onset (solid), QRS onset (dotted), QRS end (dashed), "
                     "T end (dash-dot), from the median beats.")
    if sal is not None:
        notes.append(f"Orange shading: where the input raised or lowered the similarity to "
                     f"“{overlay_prompt}” most (0.1 s bins).")
    st.caption(" ".join(notes))


def caliper(event, speed: float, gain: float) -> None:
    """Calipers: the box tool of the tracing's toolbar; the box's width and height read out as an interval,
    a rate and an amplitude."""
    boxes = []
    try:
        sel = event["selection"] if isinstance(event, dict) else event.selection
        boxes = sel["box"] if isinstance(sel, dict) else sel.box
    except Exception:  # noqa: BLE001 - no selection yet
        boxes = []
    if not boxes:
        st.markdown('<div class="caliper" data-testid="mets-caliper">Calipers: pick the box tool (⬚ “Box '
                    'Select”) above the tracing and drag across an interval or a wave.</div>',
                    unsafe_allow_html=True)
        return
    box = boxes[-1]
    r = plotting.caliper_readout(box["x"][:2], box["y"][:2], speed, gain)
    rate = f" · {r['rate_bpm']:.0f} bpm if this is an RR interval" if r["rate_bpm"] else ""
    st.markdown(f'<div class="caliper on" data-testid="mets-caliper"><b>Caliper:</b> {r["interval_ms"]:.0f} ms'
                f'{rate} · {r["amplitude_mv"]:.2f} mV</div>', unsafe_allow_html=True)


def _saliency(engine: Engine, rec: Record, prompt: str):
    from .state import saliency
    with st.spinner("Explaining the score…"):
        return saliency(engine, rec, prompt)


# ------------------------------------------------------------------------------------------ ranking

def ranking_panel(rec: Record, engine: Engine, ecg=None, scope: str = "") -> list | None:
    from mets_core.prompts import PRESETS

    from .ranking import STANDS_OUT_PERCENTILE, build_view
    from .state import rank

    st.markdown("#### How well the ECG matches each phrase")
    prompt_controls(PRESETS)
    prompts, warnings = parse_prompts(st.session_state.get("prompts_text", ""))
    for w in warnings:
        st.caption(f"Note: {w}")
    if engine.model is None:
        st.info("Ranking needs the model, which is not available (see the message at the top).")
        return None
    if not prompts:
        st.info("Type at least one phrase, e.g. “atrial fibrillation”.")
        return None
    matches = rank(engine, rec, prompts, ecg=ecg)
    view = build_view(matches)
    st.markdown(ranking_html(view, scope), unsafe_allow_html=True)
    st.markdown('<div class="reminder">Scores are similarities between the ECG and each phrase, not '
                'diagnoses. “Stands out” means this ECG is more similar to the phrase than '
                f'{STANDS_OUT_PERCENTILE:.0f}% of reference ECGs the model never trained on.</div>',
                unsafe_allow_html=True)
    st.session_state["last_ranking"] = [(m.prompt, m.similarity, m.probability) for m in matches]
    st.session_state["last_view"] = view
    return matches


def ranking_html(view, scope: str = "") -> str:
    from .ranking import STANDS_OUT_PERCENTILE
    head_cls = "stands" if view.standing_out else "none"
    rows = []
    for i, r in enumerate(view.rows, 1):
        level, words, why = r.reliability
        pct = r.percentile
        width = max(0.0, min(100.0, pct)) if pct is not None else 0.0
        mark = ('<span class="so-mark" title="stands out from the reference ECGs">▲ stands out</span>'
                if r.stands_out else "")
        shown_exp = [e for e in r.expansion if e.lower() != r.prompt.lower()]
        expansion = (f'<div class="rank-exp" title="The phrase was scored as these statements the model '
                     f'knows">scored as: {esc("; ".join(r.expansion[:6]))}{" …" if len(r.expansion) > 6 else ""}'
                     f'</div>' if shown_exp else "")
        pct_text = (f"{pct:.0f}<span class=\"unit\">th pct</span>" if pct is not None else "—")
        rows.append(
            f'<div class="rank-row{" top" if r.stands_out else ""}" data-rank="{i}" '
            f'data-percentile="{"" if pct is None else f"{pct:.1f}"}" data-similarity="{r.similarity:.6f}">'
            f'<div class="rank-n">{i}</div>'
            f'<div class="rank-phrase"><span class="rank-prompt">{esc(r.prompt)}</span> {mark}{expansion}</div>'
            f'<div class="rank-bar" role="img" aria-label="{esc(r.percentile_words)}" '
            f'title="{esc(r.percentile_words)}: percentile of this ECG\'s similarity among reference ECGs the '
            f'model was not trained on"><div class="rank-fill" style="width:{width:.1f}%"></div>'
            f'<div class="rank-tick" style="left:{STANDS_OUT_PERCENTILE:.0f}%"></div></div>'
            f'<div class="rank-pct">{pct_text}</div>'
            f'<div class="rel rel-{level}" title="{esc(why)}">{_REL_ICON[level]} {esc(words)}</div>'
            f'<div class="rank-p" title="softmax probability among only these {len(view.rows) + len(view.unknown)} '
            f'phrases (cosine similarity {r.similarity:+.3f}); adding or removing a phrase changes it">'
            f'{100 * r.probability:.0f}%</div></div>')
    unknown = ""
    if view.unknown:
        items = "".join(f'<li class="unknown-row">{esc(r.prompt)}</li>' for r in view.unknown)
        unknown = (f'<div class="unknown" data-testid="mets-unknown"><b>Not known to the model</b> — not ranked: '
                   f'nothing the model learned is close to {"this phrase" if len(view.unknown) == 1 else "these phrases"}'
                   f'. Try a clinical term.<ul>{items}</ul></div>')
    scope_html = f'<div class="rank-scope">{esc(scope)}</div>' if scope else ""
    return (f'<div class="rank-list" data-testid="mets-ranking">{scope_html}'
            f'<div class="rank-headline {head_cls}" data-testid="mets-headline">{esc(view.headline)}</div>'
            f'<div class="rank-head"><span>#</span><span>phrase</span>'
            f'<span title="Where this ECG\'s similarity to the phrase falls among reference ECGs the model was '
            f'not trained on. The tick marks {STANDS_OUT_PERCENTILE:.0f}%.">compared with reference ECGs</span>'
            f'<span></span><span title="How well the model recognised this statement on validation patients '
            f'(area under the ROC curve)">model reliability</span>'
            f'<span title="Softmax probability among only the phrases listed here">relative among these</span>'
            f'</div>{"".join(rows)}{unknown}</div>')


_REL_ICON = {"good": "✔", "fair": "◐", "weak": "⚠", "none": "–"}


def prompt_controls(presets: dict) -> None:
    """Preset box ("custom" once edited; a preset never silently discards typed phrases), the phrase box,
    and saving/loading a prompt set as a JSON file."""
    if "prompts_text" not in st.session_state:
        st.session_state["prompts_text"] = "\n".join(presets.get(DEFAULT_PRESET, []))
        st.session_state["preset"] = DEFAULT_PRESET if DEFAULT_PRESET in presets else CUSTOM
    options = [CUSTOM] + list(presets)

    def use_preset():
        name = st.session_state.get("preset")
        current = st.session_state.get("prompts_text", "")
        if not _is_a_preset(current, presets) and current.strip():
            st.session_state["custom_prompts"] = current          # kept: choosing "custom" brings it back
        if name in presets:
            st.session_state["prompts_text"] = "\n".join(presets[name])
        elif name == CUSTOM and st.session_state.get("custom_prompts"):
            st.session_state["prompts_text"] = st.session_state["custom_prompts"]

    def edited():
        text = st.session_state.get("prompts_text", "")
        st.session_state["preset"] = _is_a_preset(text, presets) or CUSTOM
        if st.session_state["preset"] == CUSTOM:
            st.session_state["custom_prompts"] = text

    st.selectbox("Phrase set", options, key="preset", on_change=use_preset,
                 help="A preset replaces the phrases below; what you typed is kept under “custom”.")
    st.text_area("Prompts, one per line: the phrases to compare with the ECG (Ctrl+Enter or click outside to re-rank)", key="prompts_text",
                 height=160, on_change=edited)
    with st.expander("Save or load a phrase set"):
        text = st.session_state.get("prompts_text", "")
        data = json.dumps({"format": "mets-prompt-set", "version": 1,
                           "prompts": parse_prompts(text)[0]}, indent=1).encode("utf-8")
        st.download_button("Download this phrase set (JSON)", data, file_name="mets_phrases.json",
                           mime="application/json", key="prompts_save")
        st.file_uploader("Load a phrase set (JSON)", type=["json"], key="prompts_load",
                         on_change=_load_prompt_set)
        if st.session_state.get("prompts_load_error"):
            st.error(st.session_state["prompts_load_error"])


CUSTOM = "custom"


def _is_a_preset(text: str, presets: dict) -> str | None:
    mine = [p.lower() for p in parse_prompts(text)[0]]
    for name, phrases in presets.items():
        if mine == [p.lower() for p in phrases]:
            return name
    return None


def _load_prompt_set() -> None:
    f = st.session_state.get("prompts_load")
    st.session_state["prompts_load_error"] = None
    if f is None:
        return
    try:
        data = json.loads(f.getvalue()[:1_000_000].decode("utf-8"))
        prompts = data["prompts"] if isinstance(data, dict) else data
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ValueError
    except Exception:  # noqa: BLE001
        st.session_state["prompts_load_error"] = (
            f"“{f.name}” is not a phrase set. Load a file saved with “Download this phrase set”, or a JSON "
            f"list of phrases such as [\"atrial fibrillation\", \"sinus rhythm\"].")
        return
    text = "\n".join(parse_prompts("\n".join(prompts))[0])
    st.session_state["prompts_text"] = text
    st.session_state["custom_prompts"] = text
    st.session_state["preset"] = CUSTOM


# ---------------------------------------------------------------------------------------------- why

def why_panel(rec: Record, engine: Engine, matches: list | None) -> None:
    st.markdown("#### Why this score")
    if engine.model is None or not matches:
        st.caption("Rank some prompts first; then pick one here to see which leads and seconds raised its score.")
        return
    options = [m.prompt for m in matches]
    if st.session_state.get("why_prompt") not in options:
        st.session_state["why_prompt"] = options[0]
    def tracing_changes():
        st.session_state["full_rerun"] = True

    st.selectbox("Prompt to explain", options, key="why_prompt",
                 on_change=lambda: st.session_state.get("why_overlay") and tracing_changes())
    st.toggle("Show on the tracing (saliency overlay)", key="why_overlay", on_change=tracing_changes)
    explain = st.session_state.get("why_overlay") or st.button("Explain this score", key="why_go")
    prompt = st.session_state["why_prompt"]
    cached = any(k[0] == prompt for k in st.session_state.get("saliency", {}).get(rec.key, {}))
    if not (explain or cached):
        st.caption("Occlusion: the similarity is recomputed with each lead, and each second, hidden. "
                   "A positive bar means that part of the ECG raised the score.")
        return
    from .state import saliency_window
    sal = _saliency(engine, rec, prompt)
    w0, w1 = saliency_window(rec)
    if (w0, w1) != (0.0, rec.ecg.duration):
        st.caption(f"This long recording is explained on the page on screen, {w0:.1f}–{w1:.1f} s "
                   f"(the similarity below is of that page).")
    present = [i for i in range(12) if sal.lead_mask[i]]
    st.plotly_chart(plotting.occlusion_bars([STANDARD_LEADS[i] for i in present],
                                            sal.lead_occlusion[present], "Score drop when each lead is hidden"),
                    width="stretch", config={"displayModeBar": False}, key="why_leads")
    seg_labels = [f"{w0 + k * sal.segment_s:g}–{w0 + (k + 1) * sal.segment_s:g} s"
                  for k in range(len(sal.segment_occlusion))]
    st.plotly_chart(plotting.occlusion_bars(seg_labels, sal.segment_occlusion, "Score drop when each second is hidden"),
                    width="stretch", config={"displayModeBar": False}, key="why_secs")
    top = [STANDARD_LEADS[i] for i in present if np.isfinite(sal.lead_occlusion[i]) and sal.lead_occlusion[i] > 0]
    top = sorted(top, key=lambda lead: -sal.lead_occlusion[STANDARD_LEADS.index(lead)])[:3]
    st.caption(f"Cosine to “{prompt}”: {sal.similarity:+.3f}. "
               + (f"Leads that raised it most: {', '.join(top)}." if top else "No single lead raised it."))


# ---------------------------------------------------------------------------------------- retrieval

def _hit_html(rank: int, report: str, sim: float, source_id: str, kind: str) -> str:
    db, _, rec = str(source_id).partition("/")
    return (f'<div class="hit-row" data-kind="{kind}" data-rank="{rank}"><div class="hit-sim">{sim:+.3f}</div>'
            f'<div class="hit-body"><div class="hit-src"><span class="db">{esc(db or "corpus")}</span> '
            f'{esc(rec or source_id)}</div><div class="hit-report">{esc(report)}</div></div></div>')


def retrieval_panel(rec: Record, engine: Engine, ecg=None, scope: str = "") -> None:
    from .loading import resolve_source
    from .state import data_dir, search

    st.markdown("#### Similar reports from the pretraining corpus")
    if engine.model is None:
        st.info("Retrieval needs the model, which is not available (see the message at the top).")
        return
    if engine.index is None:
        st.info(engine.index_error or "No report index is available.")
        return
    c1, c2 = st.columns([1.25, 1], gap="large")
    with c1:
        k = st.slider("Reports to show", 3, 20, 5, key="k_hits")
        with guard("Retrieval"):
            hits = search(engine, ecg if ecg is not None else rec.ecg, k)
            if scope:
                st.markdown(f'<div class="rank-scope">{esc(scope)}</div>', unsafe_allow_html=True)
            folder = data_dir()
            st.markdown(f'<div class="hit-cap">Nearest {len(hits)} of {len(engine.index):,} corpus reports to '
                        f'this ECG (similarity){" · ECG of the hit on the right when your data folder has it" if folder else ""}'
                        f'</div>', unsafe_allow_html=True)
            for i, hit in enumerate(hits, 1):
                report, sim, source_id = hit[0], hit[1], hit[2]      # Hit may carry more fields
                resolved = resolve_source(folder, source_id) if folder is not None else None
                strip = _thumbnail(str(resolved[0]), resolved[1]) if resolved else None
                if strip is None:
                    st.markdown(_hit_html(i, report, sim, source_id, "ecg"), unsafe_allow_html=True)
                    continue
                a, b = st.columns([1.5, 1])
                a.markdown(_hit_html(i, report, sim, source_id, "ecg"), unsafe_allow_html=True)
                b.plotly_chart(strip, width="stretch", config={"staticPlot": True}, key=f"thumb_{i}")
            if folder is None:
                st.caption("Set a data folder (sidebar: Settings, or $METS_DATA_DIR) holding the source databases "
                           "to see each hit's own ECG.")
    with c2:
        query = st.text_input("Search the corpus by text", key="corpus_query",
                              placeholder="e.g. inferior myocardial infarction")
        if query.strip():
            with guard("Text search"):
                hits = search(engine, query.strip()[:500], k)
                st.markdown(f'<div class="hit-cap">Reports nearest to “{esc(query.strip()[:80])}”</div>'
                            + "".join(_hit_html(i, h[0], h[1], h[2], "text") for i, h in enumerate(hits, 1)),
                            unsafe_allow_html=True)


@st.cache_data(show_spinner=False, max_entries=64)
def _thumbnail(path: str, start_s: float = 0.0):
    """A lead II strip of a corpus record in the user's data folder (None if it cannot be read)."""
    from mets_core import read_ecg
    try:
        return plotting.thumbnail(read_ecg(path), start_s=start_s)
    except Exception:
        return None


# ------------------------------------------------------------------------------------------ report

def report_download(rec: Record, engine: Engine, m, scope: str) -> None:
    from mets_core.file_labels import file_labels

    from .report import build_pdf
    from .state import is_long, page_start

    st.markdown("#### Printable report")
    if not st.button("Prepare a one-page PDF report", key=f"pdf_make_{rec.key}",
                     help="Built in memory for this ECG as shown (A4, 25 mm/s, 10 mm/mV); nothing is saved."):
        return
    view = st.session_state.get("last_view")
    version = ""
    if engine.model is not None:
        info = engine.model.info()
        version = f"{info.get('source') or engine.weights_dir} · weights {str(info.get('weights_sha256') or '')[:12]}"
    with st.spinner("Building the PDF…"):
        pdf = build_pdf(rec.ecg, rec.label, start_s=page_start(rec) if is_long(rec) else 0.0, measurements=m,
                        ranking=view, file_labels=file_labels(rec.ecg), model_version=version,
                        rhythm_lead=st.session_state.get("rhythm_lead", plotting.RHYTHM_LEAD), scope=scope)
    st.download_button("Download the PDF report", pdf, file_name="mets_report.pdf", mime="application/pdf",
                       key=f"pdf_get_{rec.key}", type="primary")
    st.caption("Print at 100 % (“actual size”) so that the grid is 1 mm / 5 mm.")


# ----------------------------------------------------------------------------------------- compare

COMPARE_FIELDS = (("Heart rate (bpm)", "heart_rate_bpm"), ("PR (ms)", "pr_ms"), ("QRS (ms)", "qrs_ms"),
                  ("QT (ms)", "qt_ms"), ("QTc Bazett (ms)", "qtc_ms"), ("QTc Fridericia (ms)", "qtc_fridericia_ms"),
                  ("QTc Framingham (ms)", "qtc_framingham_ms"), ("Frontal axis (°)", "axis_deg"))


def compare_page(recs: dict, engine: Engine) -> None:
    import pandas as pd

    from .ranking import build_view
    from .state import measurements, rank

    st.markdown("### Compare two ECGs")
    if len(recs) < 2:
        st.info("Open two ECGs (e.g. serial ECGs of one patient) to compare them side by side.")
        return
    keys = list(recs)
    label = lambda k: recs[k].label if k in recs else k  # noqa: E731
    c1, c2 = st.columns(2)
    a = c1.selectbox("Earlier / first ECG", keys, index=max(0, len(keys) - 2), format_func=label, key="cmp_a")
    b = c2.selectbox("Later / second ECG", keys, index=len(keys) - 1, format_func=label, key="cmp_b")
    ra, rb = recs[a], recs[b]
    gain = st.session_state.get("gain", 10)
    speed = st.session_state.get("speed", 25)
    for col, rec in ((c1, ra), (c2, rb)):
        with col, guard(f"The tracing of {rec.label}"):
            mode = "recorded" if int(rec.ecg.lead_mask.sum()) <= 3 else "12x1"
            st.plotly_chart(plotting.ecg_paper(rec.ecg, layout=mode, gain=gain, speed=speed),
                            width="stretch", key=f"cmp_paper_{'ab'[rec is rb]}",
                            config={"displaylogo": False, "scrollZoom": False})
    st.caption(f"Both on the same paper scale: {speed} mm/s, {gain} mm/mV (change them on the Reader page).")
    ma, mb = measurements(ra.key, ra.ecg), measurements(rb.key, rb.ecg)
    rows = []
    for name, attr in COMPARE_FIELDS:
        va, vb = getattr(ma, attr, None), getattr(mb, attr, None)
        rows.append({"measurement": name, ra.label: va, rb.label + " ": vb,
                     "difference (second − first)": None if va is None or vb is None else round(vb - va, 1)})
    st.markdown("#### Measurements")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="cmp_meas")
    if engine.model is None:
        return
    prompts = current_prompts()
    if not prompts:
        return
    va, vb = build_view(rank(engine, ra, prompts)), build_view(rank(engine, rb, prompts))
    by_b = {r.prompt: r for r in vb.rows + vb.unknown}
    table = []
    for r in va.rows:
        other = by_b.get(r.prompt)
        use_pct = r.percentile is not None and other is not None and other.percentile is not None
        first = r.percentile if use_pct else r.similarity
        second = (other.percentile if use_pct else other.similarity) if other is not None else None
        table.append({"phrase": r.prompt, "score": "percentile" if use_pct else "similarity",
                      ra.label: round(first, 3), rb.label + " ": None if second is None else round(second, 3),
                      "difference": None if second is None else round(second - first, 3),
                      "reliability": r.reliability[1]})
    st.markdown("#### Ranking of the same phrases")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="cmp_rank")
    if va.unknown:
        st.caption("Not known to the model (not ranked): " + ", ".join(r.prompt for r in va.unknown))


# -------------------------------------------------------------------------------------------- batch

def batch_page(recs: list[Record], engine: Engine) -> None:
    import pandas as pd

    from .state import measurements, rank

    st.markdown("### Batch: every loaded ECG against the same prompts")
    if not recs:
        st.info("Load several ECGs (upload many files at once, demos, PhysioNet) to compare them here.")
        return
    prompts = current_prompts()
    st.caption(f"{len(prompts)} prompts (edit them on the Reader page): " + ", ".join(prompts[:12])
               + (" …" if len(prompts) > 12 else ""))
    if engine.model is None:
        st.warning("The model is not available, so only measurements are listed.")
    rows = []
    progress = st.progress(0.0, text="Ranking…") if len(recs) > 3 else None
    for n, rec in enumerate(recs, 1):
        row = {"ECG": rec.label, "source": rec.origin, "Hz": rec.ecg.fs, "s": round(rec.ecg.duration, 1),
               "leads": len(rec.ecg.leads)}
        try:
            m = measurements(rec.key, rec.ecg)
            row["HR (bpm)"] = m.heart_rate_bpm
            row["QRS (ms)"] = m.qrs_ms
            row["QTc (ms)"] = m.qtc_ms
        except Exception:
            row["HR (bpm)"] = row["QRS (ms)"] = row["QTc (ms)"] = None
        try:
            from mets_core.file_labels import file_labels
            row["file labels"] = "; ".join(lab.text for lab in file_labels(rec.ecg).labels)[:200]
        except Exception:  # noqa: BLE001
            row["file labels"] = ""
        if engine.model is not None and prompts:
            try:
                from .ranking import build_view
                matches = rank(engine, rec, prompts)
                view = build_view(matches)
                for j, m in enumerate(matches[:3], 1):
                    row[f"top {j}"] = m.prompt
                    row[f"cos {j}"] = round(m.similarity, 4)
                    row[f"p {j}"] = round(m.probability, 4)
                for r in view.rows:      # one column per phrase: sort the table by any of them
                    row[r.prompt] = round(r.percentile, 1) if r.percentile is not None else round(r.similarity, 4)
                row["stands out"] = ", ".join(r.prompt for r in view.standing_out)
            except Exception as err:
                row["top 1"] = f"error: {type(err).__name__}"
        rows.append(row)
        if progress is not None:
            progress.progress(n / len(recs), text=f"Ranking… {n}/{len(recs)}")
    if progress is not None:
        progress.empty()
    df = pd.DataFrame(rows)
    st.caption("Click a column header to sort by it (phrase columns: percentile vs reference ECGs, or "
               "similarity when the weights have no reference). Select a row to open that ECG.")
    event = st.dataframe(df, width="stretch", hide_index=True, key="batch_table", on_select="rerun",
                         selection_mode="single-row")
    chosen = getattr(getattr(event, "selection", None), "rows", None) or []
    if chosen and 0 <= chosen[0] < len(recs):
        st.session_state["current"] = recs[chosen[0]].key
        st.session_state["page_request"] = "Reader"
        st.rerun()
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    st.download_button("Download CSV", buf.getvalue().encode("utf-8"), file_name="mets_batch.csv",
                       mime="text/csv", key="batch_csv")
    st.markdown('<div class="reminder">Scores are similarities, not diagnoses.</div>', unsafe_allow_html=True)


# --------------------------------------------------------------------------------------- model card

def model_card_page(engine: Engine) -> None:
    st.markdown('<div class="banner-warn"><b>Research use only. Not a medical device.</b> METS compares an '
                'ECG with text by similarity; it has not been validated for diagnosis, triage or treatment '
                'decisions. Every output must be checked by a qualified clinician on the tracing.</div>',
                unsafe_allow_html=True)
    if engine.model is not None:
        info = engine.model.info()
        pp = info.get("preprocess", {})
        glance = {
            "Weights": str(info.get("source") or engine.weights_dir),
            "Weights SHA-256": str(info.get("weights_sha256") or "")[:16] + "…",
            "Text encoder (frozen)": str(info.get("text_model")),
            "Embedding size": str(info.get("embedding_dim")),
            "Temperature": f"{info.get('temperature', float('nan')):.4f}",
            "Model input": f"{pp.get('fs', '?')} Hz, {pp.get('window_s', '?')} s windows, any subset of 12 leads",
            "Parameters": f"{info.get('parameters', 0):,}",
            "Report index": (f"{len(engine.index):,} reports" if engine.index is not None
                             else (engine.index_error or "none")),
        }
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in glance.items())
        st.markdown(f'<table class="glance">{rows}</table>', unsafe_allow_html=True)
    elif engine.error:
        st.error(engine.error)
    card = engine.model_card
    if card:
        st.markdown(card)
    else:
        st.info(f"These weights ({engine.weights_dir}) ship no MODEL_CARD.md.")
    if engine.model is not None:
        with st.expander("Full configuration of the loaded checkpoint"):
            st.json({k: v for k, v in engine.model.info().items() if k != "model"})
