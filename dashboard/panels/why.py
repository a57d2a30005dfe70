"""Why a phrase scored as it did: occlusion of each lead and each second (mets_core's saliency), shown as
bars here and, on request, as shading on the tracing (the page asks `overlay_prompt()` which phrase that is).

The phrases offered are those with a score of their own: the ranked ones, then the negated ones ("no atrial
fibrillation"), explained as the finding they were scored as (the model cannot read "no"), said so. A phrase
the model does not know is not offered: there is nothing it learned to explain."""
from __future__ import annotations

import numpy as np
import streamlit as st

from mets_core.ecg import STANDARD_LEADS
from mets_core.knowledge import negation

from .. import plotting, session
from ..engine import Engine
from ..session import Record, hms

# The bars say which way hiding a part moved the score (plotting.BAR_RAISED, BAR_LOWERED); the overlay on the
# tracing (orange) says only how much the model looked there.
BARS_SAY = ("Blue bars: that part raised the score (hiding it lowers it); grey bars: it lowered the score, or "
            "did not change it.")
SETTINGS = ("why_prompt", "why_overlay")     # widget keys, kept while other pages are shown (session.keep)
OVERLAY_SAYS = ("Orange shading on the tracing: where the model looked most, darker for more. It shows how much, "
                "not which way: a dark band may have raised or lowered the score (the bars here say which).")


def explained(prompt: str) -> str:
    """The phrase whose score "why" explains for a typed one: the finding of a negated phrase ("no atrial
    fibrillation" -> "atrial fibrillation", which is what the ranking scored: knowledge.negation), else the
    phrase itself."""
    found = negation(prompt)
    return found.finding if found else prompt


def explainable(view) -> list[str]:
    """The typed phrases a score can be explained for (a dashboard.ranking RankingView, or None): the ranked
    ones, best first, then the negated ones whose finding the model knows, as typed."""
    if view is None:
        return []
    return [r.prompt for r in view.rows] + [r.prompt for r in view.negated if r.known is not False]


CHOSEN_FOR = "why_prompt_for"      # the record whose list "why_prompt" was last chosen from


def overlay_prompt(rec: Record) -> str | None:
    """The phrase whose saliency the user asked to see on the tracing of `rec`: the one chosen, or the finding it
    negates (None: no overlay). None too while the choice is still another ECG's: the tracing is drawn before
    the panel chooses for a newly opened ECG (its own top phrase), which then redraws it; the last ECG's phrase
    was explained on it first, for nothing."""
    chosen = session.setting("why_prompt")
    if not chosen or not session.setting("why_overlay") or st.session_state.get(CHOSEN_FOR) != rec.key:
        return None
    return explained(chosen)


def _label(prompt: str) -> str:
    finding = explained(prompt)
    return prompt if finding == prompt else f"{prompt} (explained as “{finding}”)"


def explain(engine: Engine, rec: Record, prompt: str):
    with st.spinner("Explaining the score…"):
        return session.saliency(engine, rec, prompt)


def _tracing_changes() -> None:
    st.session_state["why_redraw_tracing"] = True


def _picked_key(rec: Record) -> str:
    """Where the phrase the user picked to explain on `rec` is kept: ending in _<its key>, as
    session.remove_record forgets. Unpicked, the list's choice is each ECG's own top phrase: a pick made on one
    ECG is not carried to the next (another ranking, where it may be near the bottom), and it comes back with
    its ECG while that ECG's list still offers it."""
    return f"why_picked_{rec.key}"


def _picked(rec: Record) -> None:
    """The user chose a phrase to explain on this ECG (the selectbox's on_change: never the page's own choice)."""
    st.session_state[_picked_key(rec)] = st.session_state.get("why_prompt")
    if st.session_state.get("why_overlay"):
        _tracing_changes()


def why_panel(engine: Engine, rec: Record, view) -> None:
    """`view`: the ranking on screen (a dashboard.ranking RankingView; None: nothing ranked)."""
    st.markdown("### Why this score")
    prompts = explainable(view)
    if engine.model is None or view is None:
        st.caption("Rank some prompts first; then pick one here to see which leads and seconds raised its score.")
        return
    if not prompts:
        st.caption("None of these phrases is known to the model, so there is no score to explain. Type a "
                   "clinical term in English, e.g. “atrial fibrillation”.")
        return
    for key in SETTINGS:
        session.restore(key)
    picked = st.session_state.get(_picked_key(rec))
    shown = picked if picked in prompts else prompts[0]       # else this ECG's top phrase, not another ECG's
    if st.session_state.get("why_prompt") != shown or st.session_state.get(CHOSEN_FOR) != rec.key:
        st.session_state["why_prompt"], st.session_state[CHOSEN_FOR] = shown, rec.key
        if st.session_state.get("why_overlay"):
            _tracing_changes()          # the tracing, drawn before this panel, shaded for the phrase chosen before
    st.selectbox("Prompt to explain", prompts, key="why_prompt", format_func=_label, on_change=_picked, args=(rec,))
    chosen = st.session_state["why_prompt"]
    prompt = explained(chosen)
    if prompt != chosen:
        st.caption(f"Explaining “{prompt}”, the finding that “{chosen}” negates: the model cannot read "
                   f"“{negation(chosen).cue}”, so its score for “{chosen}” is the score of “{prompt}”.")
    st.toggle("Show on the tracing (saliency overlay)", key="why_overlay", on_change=_tracing_changes)
    session.keep(*SETTINGS)
    if st.session_state.get("why_overlay"):
        st.caption(OVERLAY_SAYS)
    if st.session_state.pop("why_redraw_tracing", False):
        st.rerun()          # the overlay is drawn on the tracing, outside this fragment: redraw the page
    asked = st.session_state.get("why_overlay") or st.button("Explain this score", key="why_go")
    if not (asked or session.has_saliency(rec, prompt)):
        st.caption("How it is worked out: the score is computed again with each lead, and then each second, "
                   "hidden in turn (occlusion). A positive bar means that part of the ECG raised the score. "
                   + BARS_SAY)
        return
    sal = explain(engine, rec, prompt)
    w0, w1 = session.saliency_window(rec)
    if (w0, w1) != (0.0, rec.ecg.duration):
        st.caption(f"This long recording is explained on the page on screen, {hms(w0)}–{hms(w1)} "
                   f"(the similarity below is of that page).")
    present = [i for i in range(12) if sal.lead_mask[i]]
    st.plotly_chart(plotting.occlusion_bars([STANDARD_LEADS[i] for i in present], sal.lead_occlusion[present],
                          "Score drop when each lead is hidden"),
                    width="stretch", config={"displayModeBar": False}, key="why_leads",
                    alt="How much the score drops when each lead is hidden")
    # recording time: the stretch explained starts at w0; the last segment ends where that stretch does
    seg_labels = [f"{hms(w0 + a)}–{hms(w0 + b)}" for a, b in sal.segment_spans_s()]
    each = "second" if sal.segment_s == 1.0 else f"{sal.segment_s:g}-second stretch"
    st.plotly_chart(plotting.occlusion_bars(seg_labels, sal.segment_occlusion,
                                            f"Score drop when each {each} is hidden"),
                    width="stretch", config={"displayModeBar": False}, key="why_secs",
                    alt=f"How much the score drops when each {each} is hidden")
    top = [STANDARD_LEADS[i] for i in present if np.isfinite(sal.lead_occlusion[i]) and sal.lead_occlusion[i] > 0]
    top = sorted(top, key=lambda lead: -sal.lead_occlusion[STANDARD_LEADS.index(lead)])[:3]
    st.caption(f"Similarity to “{prompt}”: {sal.similarity:+.3f} (cosine, −1 to 1). "
               + (f"Leads that raised it most: {', '.join(top)}." if top else "No single lead raised it.")
               + " " + BARS_SAY)

