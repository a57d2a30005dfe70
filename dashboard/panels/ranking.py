"""The ranking of the phrases for the stretch on screen, as a clinician should read it (dashboard.ranking
decides what is shown; this panel draws it). Public contract of the rendered list: each ranked row carries
data-testid="mets-rank-row", data-rank, data-prompt, data-percentile, data-similarity, data-probability
and data-stands-out (data-probability empty for a row without one);
negated phrases ("no atrial fibrillation", scored as the finding) are listed apart under
data-testid="mets-negated", each item with data-prompt and data-negates; unknown phrases under
data-testid="mets-unknown".

Nothing is said only on hover: every column's explanation is in the legend under the table (a <details>, "What
the columns mean", reachable by keyboard and touch), and each row's details (its percentile in words, what its
reliability level means, what its share is among) are also in text read out by screen readers (class "sr")."""
from __future__ import annotations

import numpy as np
import streamlit as st

from mets_core.knowledge import (ONE_IN, ONE_SHARE_SHOWN, ONE_SHARE_WORDS, SHARE_HEADER, scored_as_words,
                                 shown_percentile, stood_out_words)

from ..engine import Engine
from ..ranking import STANDS_OUT_PERCENTILE, RankingView, build_view, reliability_legend, short_length
from .common import esc


SHARE_HELP = ("Each phrase's share of the total among only the ranked phrases (not the negated or unknown "
              "ones; a softmax): "
              "the shares add up to 100% whatever the ECG shows, and adding or removing a phrase changes them. "
              "Not the probability that the ECG shows the finding; the percentile is the score to read.")
# the columns' explanations: on hover (title) and, the same words, in the legend "What the columns mean"
PERCENTILE_HEADER = "compared with reference ECGs"
PERCENTILE_HELP = (f"Where this ECG's similarity to the phrase falls among reference ECGs the model was not trained "
                   f"on (its percentile). The tick marks {STANDS_OUT_PERCENTILE:.0f}%: at or above it, a phrase the "
                   f"model knows “stands out”.")
RELIABILITY_HEADER = "model reliability"
RELIABILITY_HELP = ("How well the model told ECGs with this finding from others on validation patients (AUC, the "
                    "area under the ROC curve: 1.0 is perfect, 0.5 is chance). Each row's note also says for what "
                    "share of the validation patients with the finding, and of those without it, the phrase stood out "
                    f"on ECGs of this one's kind (12-lead, or fewer leads): only one reference ECG in {ONE_IN} stands "
                    "out for any phrase, so a common finding is missed in many patients who have it, and a rare one "
                    "stands out for some who do not")
SCORED_AS_HELP = "The phrase was scored as these statements the model knows"


def ranking_panel(engine: Engine, ecg, prompts: list[str], scope: str = "") -> tuple[list, RankingView] | None:
    """Ranks `prompts` for `ecg` (the stretch on screen) and shows it; returns (matches, view), or None when
    there is nothing to rank."""
    if engine.model is None:
        st.info("Ranking needs the model, which is not available (see the message at the top).")
        return None
    if not prompts:
        st.info("Type at least one phrase, e.g. “atrial fibrillation”.")
        return None
    matches = engine.rank(ecg, prompts)
    # statements one ECG rarely shows with a phrase that stands out are scored too ("paced rhythm": the bundle
    # branch blocks), so that the headline says when the model does not tell them apart though nobody typed them
    view = build_view(matches, prompts, short_length(engine.model, ecg),
                      score=lambda phrases: engine.rank(ecg, phrases))
    st.markdown(ranking_html(view, scope), unsafe_allow_html=True)
    st.markdown('<div class="reminder">Scores are similarities between the ECG and each phrase, not '
                'diagnoses. “Stands out” means this ECG is more similar to the phrase than '
                f'{STANDS_OUT_PERCENTILE:.0f}% of reference ECGs the model never trained on.</div>',
                unsafe_allow_html=True)
    few = few_leads_words(ecg, view, engine.model)
    if few:
        st.caption(few)
    return matches, view


def few_leads_words(ecg, view: RankingView, model) -> str:
    """For an ECG of fewer than 12 leads (a Holter's 2, a handheld's 1), what its percentiles and reliability
    cues were measured against, in one sentence; "" for 12 leads or when the ranking shows neither.
    `model`: the METS model (its `reference_for` says which reference ECGs the percentiles used), or None."""
    n_leads = int(ecg.lead_mask.sum())
    if n_leads >= 12:
        return ""
    said = []
    chosen = model.reference_for(ecg) if view.has_reference and model is not None else None
    if chosen is not None:
        fewer = int((np.asarray(model.reference["n_leads"]) != 12).sum())
        said.append(f"the percentiles compare it with reference ECGs of every lead set (only {fewer} have fewer "
                    f"than 12 leads)" if chosen.all() and fewer < len(chosen) else
                    "the percentiles compare it with reference ECGs that also have fewer than 12 leads")
    if any(r.auc is not None for r in view.rows):
        said.append("the reliability cues (AUC) were measured on validation ECGs of all lead sets together, for "
                    "many statements (infarction, hypertrophy, axis) on 12-lead ECGs only, so they may "
                    f"overstate how well the model reads {n_leads} lead{'s' if n_leads != 1 else ''}")
    return f"{n_leads} of 12 leads recorded: " + "; ".join(said) + "." if said else ""


def ranking_html(view, scope: str = "") -> str:
    head_cls = "stands" if view.standing_out else "none"
    in_softmax = view.sharing
    rows = []
    for i, r in enumerate(view.rows, 1):
        level, words, why = r.reliability
        pct = r.percentile
        width = shown_percentile(pct) if pct is not None else 0
        mark = ('<span class="so-mark" title="stands out from the reference ECGs">▲ stands out</span>'
                if r.stands_out else "")
        scored_as = scored_as_words(r.prompt, r.expansion)
        expansion = (f'<div class="rank-exp" title="{esc(SCORED_AS_HELP)}">scored as: {esc(scored_as)}</div>'
                     if scored_as else "")
        # a crowned phrase says, in sight, what its crown meant on validation ECGs (it misses some, marks others)
        if r.stands_out and r.stood_out:
            expansion += (f'<div class="rank-exp" data-testid="mets-stood-out">'
                          f'{esc(stood_out_words(r.stood_out, r.statement or r.prompt))}</div>')
        if r.probability is not None and in_softmax < 2:
            share_shown, share_words = ONE_SHARE_SHOWN, ONE_SHARE_WORDS
        else:
            share_shown = "—" if r.probability is None else f"{100 * r.probability:.0f}%"
            share_words = (f"this phrase's share among only the {in_softmax} ranked phrases (a softmax; cosine "
                           f"similarity {r.similarity:+.3f}); adding or removing a phrase changes it. Not a "
                           f"probability of the finding")
        rank = r.percentile_rank
        pct_text = f'{rank[0]}<span class="unit">{rank[1]} pct</span>' if rank else "—"
        rows.append(
            f'<div class="rank-row{" top" if r.stands_out else ""}" data-testid="mets-rank-row" data-rank="{i}" '
            f'data-prompt="{esc(r.prompt)}" data-stands-out="{str(r.stands_out).lower()}" '
            f'data-probability="{"" if r.probability is None else f"{r.probability:.6f}"}" '
            f'data-percentile="{"" if pct is None else f"{pct:.1f}"}" data-similarity="{r.similarity:.6f}"'
            f' role="row"><div class="rank-n" role="cell">{i}</div>'
            f'<div class="rank-phrase" role="rowheader"><span class="rank-prompt">{esc(r.prompt)}</span> {mark}'
            f'{expansion}</div>'
            f'<div class="rank-bar" role="cell" aria-label="{esc(r.percentile_words)}" '
            f'title="{esc(r.percentile_words)}: percentile of this ECG\'s similarity among reference ECGs the '
            f'model was not trained on"><div class="rank-fill" style="width:{width}%"></div>'
            f'<div class="rank-tick" style="left:{STANDS_OUT_PERCENTILE:.0f}%"></div></div>'
            f'<div class="rank-pct" role="cell">{pct_text}</div>'
            f'<div class="rel rel-{level}" role="cell" title="{esc(why)}">{_REL_ICON[level]} {esc(words)}'
            f'<span class="sr">. {esc(why)}</span></div>'
            f'<div class="rank-p" role="cell" title="{esc(share_words)}">{esc(share_shown)}'
            f'<span class="sr">: {esc(share_words)}</span></div></div>')
    unknown = ""
    if view.unknown:
        items = "".join(f'<li class="unknown-row" data-prompt="{esc(r.prompt)}">{esc(r.prompt)}</li>' for r in view.unknown)
        unknown = (f'<div class="unknown" data-testid="mets-unknown"><b>Not known to the model</b> — not ranked: '
                   f'nothing the model learned is close to {"this phrase" if len(view.unknown) == 1 else "these phrases"}'
                   f'. Try a clinical term in English (the model reads English phrases).<ul>{items}</ul></div>')
    negated = ""
    if view.negated:
        # apart from the ranking, with no reliability cue of their own: the score is the finding's
        items = "".join(f'<li class="negated-row" data-prompt="{esc(r.prompt)}" data-negates="{esc(r.negates)}">'
                        f'{esc(r.negation_words)}</li>' for r in view.negated)
        negated = (f'<div class="unknown" data-testid="mets-negated"><b>Negated phrases</b> — not ranked, never '
                   f'“stands out”: the model cannot read negation, so each is scored as the finding it names.'
                   f'<ul>{items}</ul></div>')
    scope_html = f'<div class="rank-scope">{esc(scope)}</div>' if scope else ""
    return (f'<div class="rank-list" data-testid="mets-ranking">{scope_html}'
            f'<div class="rank-headline {head_cls}" data-testid="mets-headline">{esc(view.headline)}</div>'
            f'<div role="table" aria-label="The phrases ranked for this ECG">'
            f'<div class="rank-head" role="row"><span role="columnheader">#</span>'
            f'<span role="columnheader">phrase</span>'
            f'<span role="columnheader" title="{esc(PERCENTILE_HELP)}">{esc(PERCENTILE_HEADER)}</span>'
            f'<span role="columnheader" aria-label="percentile"></span>'
            f'<span role="columnheader" title="{esc(RELIABILITY_HELP)}">{esc(RELIABILITY_HEADER)}</span>'
            f'<span role="columnheader" title="{esc(SHARE_HELP)}">{esc(SHARE_HEADER)}</span></div>'
            f'{"".join(rows)}</div>{legend_html(view)}{negated}{unknown}</div>')


def legend_html(view) -> str:
    """What the columns mean, in the words their headers give on hover, for those who cannot hover (keyboard,
    touch, screen readers): a <details> under the table, closed (the table stays the view)."""
    if not view.rows:
        return ""
    items = [(PERCENTILE_HEADER, PERCENTILE_HELP), (RELIABILITY_HEADER, f"{RELIABILITY_HELP}. {reliability_legend(_REL_ICON)}"),
             (SHARE_HEADER, SHARE_HELP)]
    if any(scored_as_words(r.prompt, r.expansion) for r in view.rows):
        items.append(("scored as", SCORED_AS_HELP + "."))
    said = "".join(f"<li><b>{esc(name)}</b>: {esc(words)}</li>" for name, words in items)
    return (f'<details class="rank-legend" data-testid="mets-rank-legend"><summary>What the columns mean</summary>'
            f'<ul>{said}</ul></details>')


_REL_ICON = {"good": "✔", "fair": "◐", "weak": "⚠", "none": "–"}
