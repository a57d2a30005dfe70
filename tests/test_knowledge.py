"""Knowledge-expanded prompts and readable scores: expansion, known/unknown phrases, percentiles,
validation AUCs on Match, and the ranking order that keeps unknown phrases apart."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mets_core.ecg import ECG
from mets_core.knowledge import Knowledge, choose_threshold, normalise_phrase, percentile
from mets_core.pipeline import METS
from mets_train.training.export import export_model
from mets_train.training.synthetic import write_synthetic_corpus


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.load(None)


def test_umbrella_terms_expand_to_their_member_statements(knowledge):
    cd = knowledge.expand("Conduction disturbance.")
    assert cd.target == "conduction disturbance"
    assert {"left bundle branch block", "right bundle branch block", "first degree AV block"} <= set(cd.phrases)
    assert knowledge.truth("conduction disturbance") == ["class_cd"]
    assert knowledge.expand("ST/T-change").target == "ST/T change"
    assert knowledge.expand("heart attack").target == "myocardial infarction"


def test_synonyms_and_snomed_names_map_to_one_statement(knowledge):
    for typed, target in [("AFib", "afib"), ("1st degree AV block", "avb1"), ("complete right bundle branch block", "rbbb"),
                          ("ventricular premature beats", "pvc"), ("LBBB", "lbbb"), ("left bundle branch block", "lbbb")]:
        x = knowledge.expand(typed)
        assert x.target == target and len(x.members) == 1 and x.members[0][0] == target
        assert x.members[0][1][0] == knowledge.statements[target]["canonical"]   # canonical phrasing first


def test_free_phrases_are_not_expanded(knowledge):
    for typed in ["banana", "asdfgh qwerty", "ST elevation in the inferior leads"]:
        assert knowledge.expand(typed).target is None and knowledge.expand(typed).phrases == ()
    assert normalise_phrase(" ST/T-Change. ") == "st t change"


def test_percentile_counts_reference_ecgs_below_with_ties_half():
    ref = np.array([[0.1, 0.5], [0.2, 0.5], [0.3, 0.5], [0.4, 0.5]])
    assert percentile(np.array([0.25, 0.5]), ref).tolist() == [50.0, 50.0]
    assert percentile(np.array([1.0, -1.0]), ref).tolist() == [100.0, 0.0]


def test_threshold_separates_two_samples_when_it_can():
    t = choose_threshold(np.array([0.7, 0.8, 0.9]), np.array([0.2, 0.3, 0.6]))
    assert 0.6 < t < 0.7
    # overlapping samples: the best balanced accuracy, never worse than chance
    on, off = np.array([0.5, 0.9]), np.array([0.6, 0.1])
    t = choose_threshold(on, off)
    assert ((on >= t).mean() + (off < t).mean()) / 2 >= 0.5


def _ecg(seed: int, leads: int = 12) -> ECG:
    rng = np.random.default_rng(seed)
    t = np.arange(1000) / 100
    sig = np.zeros((12, 1000), np.float32)
    for i in range(leads):
        sig[i] = np.sin(2 * np.pi * (1 + seed % 3) * t) * (0.5 + 0.1 * i) + 0.05 * rng.standard_normal(1000)
    mask = np.zeros(12, bool)
    mask[:leads] = True
    return ECG(sig, 100.0, mask)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> METS:
    tmp = tmp_path_factory.mktemp("knowledge")
    METS.random_init({"model": {"width": 8}}, seed=0).save_pretrained(tmp / "run" / "best")
    corpus = write_synthetic_corpus(tmp / "corpus", n_patients=12, windows_per_patient=3)
    export_model(tmp / "run", corpus, tmp / "weights")
    return METS.from_pretrained(tmp / "weights")


def test_rank_reports_percentile_known_expansion_and_keeps_unknown_phrases_last(exported):
    prompts = ["banana", "conduction disturbance", "atrial fibrillation", "asdfgh qwerty", "sinus rhythm"]
    ecg = _ecg(1)
    ranked = exported.rank(ecg, prompts)
    assert sorted(m.prompt for m in ranked) == sorted(prompts)
    by = {m.prompt: m for m in ranked}
    assert by["banana"].known is False and by["asdfgh qwerty"].known is False
    assert by["atrial fibrillation"].known is True and by["conduction disturbance"].known is True
    assert by["conduction disturbance"].statement == "conduction disturbance"
    assert "left bundle branch block" in by["conduction disturbance"].expansion
    assert by["banana"].expansion == () and by["banana"].statement is None
    # known before unknown; within each group by percentile, best first
    flags = [m.known for m in ranked]
    assert flags == sorted(flags, key=lambda k: k is False)
    known = [m.percentile for m in ranked if m.known]
    assert known == sorted(known, reverse=True)
    # the percentile is the share of reference ECGs (same lead-set kind or all) less similar to the prompt
    emb = exported.embed_prompts(prompts)
    ref = exported.reference["embeddings"]
    same = (exported.reference["n_leads"] == 12)
    if same.sum() >= 50:
        ref = ref[same]
    sims = emb @ exported.embed_ecg(ecg)[0]
    for j, p in enumerate(prompts):
        r = ref @ emb[j]
        assert by[p].percentile == pytest.approx(100 * ((r < sims[j]).mean() + 0.5 * (r == sims[j]).mean()), abs=1e-6)
        assert 0.0 <= by[p].percentile <= 100.0
    # softmax stays available as the relative view, over the ranked (known) phrases only
    assert sum(m.probability for m in ranked if m.known is not False) == pytest.approx(1.0)
    assert by["banana"].probability is None and by["asdfgh qwerty"].probability is None


def test_expanded_prompt_is_the_mean_of_its_members(exported):
    members = exported.knowledge.expand("AV block").members
    each = [exported.embed_prompts(list(phrasings), expand=False) for _, phrasings in members]
    per_member = [v.mean(axis=0) / np.linalg.norm(v.mean(axis=0)) for v in each]
    want = np.mean(per_member, axis=0)
    want /= np.linalg.norm(want)
    assert np.allclose(exported.embed_prompts(["AV block"])[0], want, atol=1e-5)
    assert not np.allclose(exported.embed_prompts(["AV block"])[0], exported.embed_prompts(["AV block"], expand=False)[0])


def test_validation_auc_is_read_from_the_weights_and_withheld_when_too_few_positives_or_negatives(exported,
                                                                                                   tmp_path):
    weights = tmp_path / "w"
    exported.save_pretrained(weights, extra_files={"knowledge.json": json.dumps({
        "known_threshold": 0.5,
        "validation": {"afib": {"auc": 0.91, "n_positive": 40, "n_windows": 400},
                       "lbbb": {"auc": 0.99, "n_positive": 3, "n_windows": 400},
                       "rbbb": {"auc": 0.98, "n_positive": 77, "n_windows": 82}}})})
    m = METS.from_pretrained(weights)
    by = {x.prompt: x for x in m.rank(_ecg(2), ["AF", "LBBB", "RBBB", "ST/T change"])}
    assert by["AF"].validation_auc == pytest.approx(0.91)
    assert by["LBBB"].validation_auc is None            # 3 positives: not validated
    assert by["RBBB"].validation_auc is None            # 5 negatives: not validated either
    assert by["ST/T change"].validation_auc is None     # no entry
    assert m.reference is None and by["AF"].percentile is None   # no reference stored: no percentile


def test_a_random_init_model_without_threshold_leaves_free_phrases_undetermined():
    m = METS.random_init({"model": {"width": 8}}, seed=0)
    by = {x.prompt: x for x in m.rank(_ecg(0), ["banana", "atrial fibrillation"])}
    assert by["banana"].known is None and by["atrial fibrillation"].known is True
