"""Review 33 of the library: an ECG is judged among reference ECGs of the lead set it was embedded with (a lead
missing too often is left out of both), a report's hedge ("MI not excluded") is not a negation, and prompts that
embed the same ("Sinus rhythm." and "sinus rhythm") are one prompt."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mets_core import METS
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.knowledge import negation
from mets_core.pipeline import MIN_REFERENCE
from mets_core.preprocess import model_lead_mask
from mets_core.prompts import distinct_prompts, prompt_lines
from mets_core.simulate import simulate_ecg

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
PROMPTS = ["sinus rhythm", "atrial fibrillation", "left bundle branch block"]   # known: no text model loaded


def _v6_dead_and_v6_absent() -> tuple[ECG, ECG]:
    """One 10-s 12-lead recording twice, built by hand from its array: V6 all NaN (a dead electrode), and V6
    left out. Preprocessing makes the same 11-lead model input of both."""
    ecg = simulate_ecg(10, 500, 70, seed=1)
    rows = ecg.signal.copy()
    rows[STANDARD_LEADS.index("V6")] = np.nan
    dead = ECG.from_leads(rows, list(STANDARD_LEADS), 500.0)
    absent = ECG.from_leads(ecg.signal[:11], list(STANDARD_LEADS[:11]), 500.0)
    return dead, absent


# ------------------------------------------------------------------ the lead set an ECG is judged as

def test_the_lead_mask_the_model_sees_leaves_out_a_lead_missing_too_often():
    dead, absent = _v6_dead_and_v6_absent()
    assert dead.lead_mask.all()                                   # as built: twelve leads "recorded"
    assert model_lead_mask(dead).tolist() == absent.lead_mask.tolist()
    gap = dead.signal.copy()
    gap[STANDARD_LEADS.index("V6")] = simulate_ecg(10, 500, 70, seed=1).signal[11]
    gap[STANDARD_LEADS.index("V6"), 100:110] = np.nan              # a short gap is filled, the lead kept
    assert model_lead_mask(ECG(gap, 500.0, np.ones(12, bool))).all()


def test_percentiles_of_an_ecg_with_a_dead_lead_are_judged_among_ecgs_of_its_embedded_lead_set():
    """Before: the 11-lead input was judged among the 12-lead reference ECGs (the raw mask counted twelve)."""
    model = METS.random_init(seed=0)
    rng = np.random.default_rng(0)
    n = 2 * MIN_REFERENCE
    emb = rng.normal(size=(2 * n, model.model.cfg.proj_dim)).astype(np.float32)
    model.reference = {"embeddings": emb / np.linalg.norm(emb, axis=1, keepdims=True),
                       "n_leads": np.array([12] * n + [2] * n)}
    dead, absent = _v6_dead_and_v6_absent()
    assert np.allclose(model.embed_ecg(dead), model.embed_ecg(absent))          # one input, one embedding
    assert model.reference_for(dead).tolist() == model.reference_for(absent).tolist() == [False] * n + [True] * n
    prompts = rng.normal(size=(3, model.model.cfg.proj_dim)).astype(np.float32)
    prompts /= np.linalg.norm(prompts, axis=1, keepdims=True)
    sims = model.embed_ecg(dead)[0] @ prompts.T
    assert np.array_equal(model.percentiles(dead, prompts, sims), model.percentiles(absent, prompts, sims))


@pytest.mark.skipif(not (WEIGHTS / "reference.safetensors").is_file(), reason="weights/ ships no reference ECGs")
def test_a_ranking_with_a_dead_lead_reads_as_that_of_the_ecg_without_it():
    """The shipped weights: the percentiles and the validation shares ("stood out for ... on fewer-lead ECGs")
    are those of the lead set the model embedded."""
    model = METS.from_pretrained(WEIGHTS)
    dead, absent = _v6_dead_and_v6_absent()
    seen = [(m.prompt, m.percentile, m.stood_out) for m in model.rank(dead, PROMPTS)]
    assert seen == [(m.prompt, m.percentile, m.stood_out) for m in model.rank(absent, PROMPTS)]
    assert any(stood is not None and stood.kind == "fewer leads" for _, _, stood in seen)


# ------------------------------------------------------------------------------ negation

@pytest.mark.parametrize("typed", [
    "ischemia not excluded", "inferior MI cannot be ruled out", "myocardial infarction not ruled out",
    "STEMI can't be excluded", "lateral infarct, not excluded", "MI could not be excluded.",
    "ST elevation has not been ruled out", "P waves not absent",
])
def test_a_hedge_is_not_a_negation(typed):
    """Before: "ischemia not excluded" was a negation of the finding "ischemia not" (listed apart, never ranked,
    and said to be scored as "ischemia not"), though it says ischaemia may be there."""
    assert negation(typed) is None


@pytest.mark.parametrize("typed,finding", [
    ("STEMI excluded", "STEMI"), ("atrial fibrillation absent", "atrial fibrillation"),
    ("knot excluded", "knot"), ("ST elevation: ruled out", "ST elevation"),
])
def test_a_cue_after_the_finding_still_negates_it(typed, finding):
    assert negation(typed).finding == finding


# ------------------------------------------------------------------------------ distinct prompts

def test_prompts_that_embed_the_same_are_one_prompt():
    """Before: "Sinus rhythm." and "sinus rhythm..." were ranked beside "sinus rhythm" (three rows of one score,
    sharing the softmax), and `mets rank --prompt 'sinus  rhythm' --prompt 'sinus rhythm'` gave two rows."""
    kept = distinct_prompts(prompt_lines("sinus rhythm\nSinus rhythm.\nsinus rhythm...\nAF?\nAF\n..."))
    assert kept.prompts == ["sinus rhythm", "AF?", "AF"] and kept.skipped == ["..."]
    assert distinct_prompts(["sinus  rhythm", "sinus rhythm"]).prompts == ["sinus  rhythm"]


def test_a_prompt_shortened_to_one_already_kept_is_dropped():
    kept = distinct_prompts(["sinus rhythm", "Sinus rhythm. with more words"], max_prompts=5, max_chars=13)
    assert kept.prompts == ["sinus rhythm"]
