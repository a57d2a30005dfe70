"""The dashboard's pages and panels. Each panel runs inside `guard`, so one failure shows a message in
its place (never a traceback) and the rest of the page keeps working."""
from __future__ import annotations

import html
import io
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
        f'{lead}</span>' for lead, present in zip(STANDARD_LEADS, ecg.lead_mask))
    badges = ""
    if rec.synthetic:
        badges += '<span class="badge synthetic">SYNTHETIC — not a patient</span>'
    badges += f'<span class="badge origin">{esc(rec.origin)}</span>'
    st.markdown(
        f'<div class="rec-head"><div class="rec-title">{esc(rec.label)} {badges}</div>'
        f'<div class="rec-meta"><b>{ecg.fs:g} Hz</b> · {ecg.duration:.1f} s · '
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


# ------------------------------------------------------------------------------------- measurements

def _fmt(value, unit: str, digits: int = 0) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return f"{value:.{digits}f}{unit}"


def measurements_panel(m) -> None:
    cells = [
        ("Heart rate", _fmt(m.heart_rate_bpm, " bpm"), m.notes.get("rate")),
        ("RR", _fmt(m.rr_ms, " ms"), m.notes.get("rate")),
        ("PR", _fmt(m.pr_ms, " ms"), m.notes.get("pr")),
        ("QRS", _fmt(m.qrs_ms, " ms"), m.notes.get("qrs")),
        ("QT", _fmt(m.qt_ms, " ms"), m.notes.get("qt")),
        (f"QTc ({m.qtc_formula})", _fmt(m.qtc_ms, " ms"), m.notes.get("qtc")),
        ("Frontal axis", _fmt(m.axis_deg, "°"), m.notes.get("axis")),
    ]
    html_cells = []
    for label, value, note in cells:
        if value is None:
            html_cells.append(f'<div class="meas na" title="{esc(note or "not measurable")}">'
                              f'<div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">not measurable</div>'
                              f'<div class="meas-note">{esc(note or "")}</div></div>')
        else:
            html_cells.append(f'<div class="meas"><div class="meas-label">{esc(label)}</div>'
                              f'<div class="meas-value">{esc(value)}</div></div>')
    st.markdown(f'<div class="meas-row" data-testid="mets-measurements">{"".join(html_cells)}</div>',
                unsafe_allow_html=True)
    quality_chips = []
    for lead in STANDARD_LEADS:
        q = m.lead_quality.get(lead, "Not recorded")
        cls = {"Excellent": "q-good", "Barely acceptable": "q-fair", "Unacceptable": "q-bad"}.get(q, "q-none")
        sqi = m.lead_sqi.get(lead)
        tip = f"{lead}: {q}" + (f" (template SQI {sqi:.2f})" if sqi is not None else "")
        quality_chips.append(f'<span class="qchip {cls}" title="{esc(tip)}">{lead}</span>')
    where = (f"measured in lead {m.interval_lead}, {m.n_beats} beats, {m.seconds_analysed:g} s"
             if m.interval_lead else "no lead was good enough to measure")
    st.markdown(
        f'<div class="meas-foot">Automated (neurokit2), {esc(where)}; verify on the tracing. '
        f'Signal quality per lead: {"".join(quality_chips)} '
        f'<span class="legend"><span class="qchip q-good">good</span><span class="qchip q-fair">fair</span>'
        f'<span class="qchip q-bad">unusable</span><span class="qchip q-none">absent</span></span></div>',
        unsafe_allow_html=True)


# ------------------------------------------------------------------------------------------ tracing

def tracing_panel(rec: Record, engine: Engine) -> None:
    ecg = rec.ecg
    c1, c2, c3, c4 = st.columns([2.2, 1.4, 1.2, 2.2])
    layout = c1.radio("Layout", ["3×4 + rhythm II", "12×1"], horizontal=True, key="layout")
    gain = c2.radio("Gain (mm/mV)", plotting.GAINS, index=1, horizontal=True, key="gain")
    speed = c3.radio("Speed (mm/s)", plotting.SPEEDS, index=0, horizontal=True, key="speed")
    start = 0.0
    if ecg.duration > 10.5:
        start = c4.slider("Start of the 10 s page (s)", 0.0, float(max(0.0, ecg.duration - 10.0)), 0.0, 0.5,
                          key=f"start_{rec.key}")
    sal = None
    overlay_prompt = st.session_state.get("why_prompt") if st.session_state.get("why_overlay") else None
    if overlay_prompt and engine.model is not None:
        with guard("The saliency overlay"):
            sal = _saliency(engine, rec, overlay_prompt)
    from .state import saliency_window
    fig = plotting.ecg_paper(ecg, layout="3x4" if layout.startswith("3") else "12x1", gain=gain, speed=speed,
                             start_s=start, saliency=sal, saliency_offset_s=saliency_window(rec)[0])
    st.plotly_chart(fig, width="stretch", key="paper",
                    config={"displaylogo": False, "scrollZoom": True,
                            "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
                            "toImageButtonOptions": {"filename": "ecg"}})
    if sal is not None:
        st.caption(f"Orange shading: where the input raised or lowered the similarity to "
                   f"“{overlay_prompt}” most (|gradient × input|, 0.1 s bins).")


def _saliency(engine: Engine, rec: Record, prompt: str):
    from .state import saliency
    with st.spinner("Explaining the score…"):
        return saliency(engine, rec, prompt)


# ------------------------------------------------------------------------------------------ ranking

def ranking_panel(rec: Record, engine: Engine) -> list | None:
    from mets_core.prompts import PRESETS

    from .state import rank

    st.markdown("#### Zero-shot ranking")
    if "prompts_text" not in st.session_state:
        st.session_state["prompts_text"] = "\n".join(PRESETS.get(DEFAULT_PRESET, []))

    def use_preset():
        name = st.session_state.get("preset")
        if name in PRESETS:
            st.session_state["prompts_text"] = "\n".join(PRESETS[name])

    st.selectbox("Preset prompt sets", list(PRESETS), key="preset", on_change=use_preset,
                 index=list(PRESETS).index(DEFAULT_PRESET) if DEFAULT_PRESET in PRESETS else 0,
                 help="Replaces the prompts below with a preset set.")
    st.text_area("Prompts, one per line (press Ctrl+Enter or click outside to re-rank)", key="prompts_text",
                 height=180)
    prompts, warnings = parse_prompts(st.session_state.get("prompts_text", ""))
    for w in warnings:
        st.caption(f"Note: {w}")
    if engine.model is None:
        st.info("Ranking needs the model, which is not available (see the message at the top).")
        return None
    if not prompts:
        st.info("Type at least one prompt, e.g. “atrial fibrillation”.")
        return None
    matches = rank(engine, rec, prompts)
    rows = []
    top_p = max(m.probability for m in matches)
    for i, m in enumerate(matches, 1):
        width = 100.0 * m.probability / top_p if top_p > 0 else 0
        rows.append(
            f'<div class="rank-row{" top" if i == 1 else ""}" data-rank="{i}">'
            f'<div class="rank-n">{i}</div><div class="rank-prompt">{esc(m.prompt)}</div>'
            f'<div class="rank-bar"><div class="rank-fill" style="width:{width:.1f}%"></div></div>'
            f'<div class="rank-p" title="softmax probability over these {len(matches)} prompts">'
            f'{100 * m.probability:.1f}%</div>'
            f'<div class="rank-cos" title="cosine similarity">cos {m.similarity:+.3f}</div></div>')
    st.markdown(
        f'<div class="rank-list" data-testid="mets-ranking">'
        f'<div class="rank-head"><span>#</span><span>prompt</span><span>probability (softmax over these '
        f'{len(matches)})</span><span></span><span>cosine</span></div>{"".join(rows)}</div>',
        unsafe_allow_html=True)
    st.markdown('<div class="reminder">Scores are similarities, not diagnoses. The probabilities only '
                'compare the phrases listed here: adding or removing a phrase changes them.</div>',
                unsafe_allow_html=True)
    st.session_state["last_ranking"] = [(m.prompt, m.similarity, m.probability) for m in matches]
    return matches


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


def retrieval_panel(rec: Record, engine: Engine) -> None:
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
            hits = search(engine, rec.ecg, k)
            folder = data_dir()
            st.markdown(f'<div class="hit-cap">Nearest {len(hits)} of {len(engine.index):,} corpus reports to '
                        f'this ECG (cosine){" · ECG of the hit on the right when your data folder has it" if folder else ""}'
                        f'</div>', unsafe_allow_html=True)
            for i, (report, sim, source_id) in enumerate(hits, 1):
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
                            + "".join(_hit_html(i, r, s, sid, "text") for i, (r, s, sid) in enumerate(hits, 1)),
                            unsafe_allow_html=True)


@st.cache_data(show_spinner=False, max_entries=64)
def _thumbnail(path: str, start_s: float = 0.0):
    """A lead II strip of a corpus record in the user's data folder (None if it cannot be read)."""
    from mets_core import read_ecg
    try:
        return plotting.thumbnail(read_ecg(path), start_s=start_s)
    except Exception:
        return None


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
        if engine.model is not None and prompts:
            try:
                matches = rank(engine, rec, prompts)
                for j, m in enumerate(matches[:3], 1):
                    row[f"top {j}"] = m.prompt
                    row[f"cos {j}"] = round(m.similarity, 4)
                    row[f"p {j}"] = round(m.probability, 4)
            except Exception as err:
                row["top 1"] = f"error: {type(err).__name__}"
        rows.append(row)
        if progress is not None:
            progress.progress(n / len(recs), text=f"Ranking… {n}/{len(recs)}")
    if progress is not None:
        progress.empty()
    df = pd.DataFrame(rows)
    st.dataframe(df, width="stretch", hide_index=True, key="batch_table")
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
