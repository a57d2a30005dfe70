import functools

import numpy as np
import pytest
import torch

import mets_core
from mets_core.checkpoint import CheckpointError
from mets_core.ecg import ECG, STANDARD_LEADS
from mets_core.index import Hit, ReportIndex, ReportIndexError
from mets_core.pipeline import METS, Match
from mets_core.preprocess import preprocess, to_model_input
from mets_core.prompts import (PRESETS, clean_phrase, default_templates, ensemble, fill, format_report,
                               load_prompts)
from mets_core.text import DEFAULT_TEXT_MODEL, TextEncoder, TextModelError, resolve_text_model

from ludb_pairs import shared_data_dir, ludb_ecg, wfdb_ecg

PROMPTS = ["sinus rhythm", "atrial fibrillation", "left ventricular hypertrophy", "right bundle branch block",
           "inferior myocardial infarction"]


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder()


@pytest.fixture(scope="module")
def model(text_encoder):
    return METS.random_init(seed=0, text_encoder=text_encoder)


@pytest.fixture(scope="module")
def small(text_encoder):
    return METS.random_init({"model": {"width": 16}}, seed=0, text_encoder=text_encoder)


def synthetic_ecg(seconds=10.0, fs=500.0, leads=STANDARD_LEADS, seed=0) -> ECG:
    """The project's one synthetic ECG (mets_core.simulate), memoised: ECGSYN integrates a model per lead."""
    ecg = _simulated(float(seconds), int(fs), tuple(leads), seed)
    return ECG(ecg.signal.copy(), ecg.fs, ecg.lead_mask.copy(), ecg.name, dict(ecg.metadata))


@functools.lru_cache(maxsize=32)
def _simulated(seconds: float, fs: int, leads: tuple[str, ...], seed: int) -> ECG:
    from mets_core.simulate import simulate_ecg
    return simulate_ecg(duration_s=seconds, fs=fs, leads=leads, noise_mv=0.02, seed=seed)


def unit_rows(a):
    return np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------------------------ text

def test_default_text_model_resolves_to_the_bundled_offline_copy():
    name, source, local = resolve_text_model(None)
    assert name == DEFAULT_TEXT_MODEL
    assert local and source.endswith("model")
    assert resolve_text_model(DEFAULT_TEXT_MODEL) == (name, source, local)


def test_a_folder_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(TextModelError, match="could not load text model"):
        TextEncoder(tmp_path)


def test_text_encoder_mean_pooling_and_caches(text_encoder, tmp_path, monkeypatch):
    a = text_encoder.encode(["sinus rhythm", "atrial fibrillation", "sinus rhythm"])
    assert a.shape == (3, 384) and a.dtype == np.float32
    assert np.array_equal(a[0], a[2]) and not np.allclose(a[0], a[1])
    # mean pooling computed by hand for one text
    tok = text_encoder.tokenizer(["atrial fibrillation"], return_tensors="pt")
    with torch.no_grad():
        hidden = text_encoder.model(**tok).last_hidden_state[0]
    assert np.allclose(a[1], hidden.mean(0).numpy(), atol=1e-5)
    # padding in a batch does not change a text's embedding
    fresh = TextEncoder()                            # an empty memory cache: both texts go through one batch
    b = fresh.encode(["atrial fibrillation", "a much longer sentence about the ECG"], batch_size=8)
    assert np.allclose(b[0], a[1], atol=1e-5)
    # on-disk cache: a second encoder reads the corpus back without running the transformer
    corpus = ["normal ECG", "sinus bradycardia", "left axis deviation"]
    first = text_encoder.encode_cached(corpus, tmp_path)
    assert len(list(tmp_path.glob("text-*.safetensors"))) == 1
    monkeypatch.setattr(fresh, "model", lambda **_: pytest.fail("cache miss: the transformer ran"))
    assert np.array_equal(fresh.encode_cached(corpus[::-1], tmp_path), first[::-1])


# --------------------------------------------------------------------------------------------- prompts

def templated(phrase: str, templates: dict | None = None) -> list[str]:
    """A phrase through each template of the diagnostic ensemble, as METS.embed_prompts reads a phrase as typed."""
    return [fill(t, phrase) for t in ensemble(templates or default_templates(), "diagnostic")]


def test_prompts_are_data_with_the_paper_templates():
    p = default_templates()
    assert p["pretraining"] == "The report of the ECG is that {text}"
    assert p["zero_shot"]["diagnostic"] == "The ECG of {label}, a type of diagnostic."
    assert p["zero_shot"]["form"] == "The ECG of {label}, a type of form."
    assert load_prompts()["default_set"] in load_prompts()["template_sets"]
    assert "The ECG of atrial fibrillation, a type of diagnostic." in templated("atrial fibrillation.")
    assert set(PRESETS) >= {"Rhythm", "Conduction", "Ischemia / infarction", "Hypertrophy", "Ectopy"}
    assert all(PRESETS.values())
    assert fill("The ECG of {label}.", "{0} odd {label}") == "The ECG of {0} odd {label}."   # braces stay literal
    assert format_report("sinus rhythm.") == "The report of the ECG is that sinus rhythm."
    with pytest.raises(ValueError, match="some text"):
        clean_phrase("  . ")
    with pytest.raises(ValueError, match="unknown prompt kind"):
        ensemble(p, kind="astrology")


# ------------------------------------------------------------------------------------------- embedding

def test_embeddings_are_normalised_and_in_one_space(model):
    ecg = synthetic_ecg()
    e = model.embed_ecg(ecg)
    t = model.embed_text(["sinus rhythm", "atrial fibrillation"])
    assert e.shape == (1, 128) and t.shape == (2, 128) and e.dtype == np.float32
    assert unit_rows(e) and unit_rows(t)
    assert model.embed_ecg([ecg, synthetic_ecg(seed=1), ecg]).shape == (3, 128)
    with pytest.raises(TypeError):
        model.embed_text("sinus rhythm")
    with pytest.raises(TypeError, match="read_ecg"):
        model.embed_ecg(np.zeros((12, 5000)))


def test_prompt_embedding_is_the_normalised_mean_of_its_templates(model):
    # as typed (expand=False; a known statement is otherwise scored as its phrasings, see test_knowledge.py)
    p = model.embed_prompts(["atrial fibrillation"], expand=False)[0]
    sentences = templated("atrial fibrillation", model.templates)
    assert len(sentences) >= 3
    mean = model.embed_text(sentences).mean(0)
    assert np.allclose(p, mean / np.linalg.norm(mean), atol=1e-5)
    assert not np.allclose(p, model.embed_prompts(["atrial fibrillation"], kind="rhythm", expand=False)[0])
    free = model.embed_prompts(["irregular narrow complexes"])[0]          # not a known phrase: templates
    mean = model.embed_text(templated("irregular narrow complexes", model.templates)).mean(0)
    assert np.allclose(free, mean / np.linalg.norm(mean), atol=1e-5)


def test_rank_sorted_with_probabilities_at_the_model_temperature(model):
    ecg = synthetic_ecg()
    ranked = model.rank(ecg, PROMPTS)
    assert [type(m) for m in ranked] == [Match] * 5
    assert sorted(m.prompt for m in ranked) == sorted(PROMPTS)
    sims = [m.similarity for m in ranked]
    assert sims == sorted(sims, reverse=True)
    assert sum(m.probability for m in ranked) == pytest.approx(1.0, abs=1e-9)
    # recomputed independently from the public embeddings
    cos = model.embed_prompts(PROMPTS) @ model.embed_ecg(ecg)[0]
    logits = cos / 0.07                                   # untrained: temperature still at its init
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    by_prompt = {m.prompt: m for m in ranked}
    for prompt, c, p in zip(PROMPTS, cos, expected):
        assert by_prompt[prompt].similarity == pytest.approx(float(c), abs=1e-5)
        assert by_prompt[prompt].probability == pytest.approx(float(p), abs=1e-5)
    with pytest.raises(ValueError, match="at least one prompt"):
        model.rank(ecg, [])


def test_reranking_reuses_the_ecg_embedding(model):
    import dataclasses
    ecg = synthetic_ecg(seed=7)
    model.rank(ecg, PROMPTS[:2])
    misses = model.cache.info()["ecg_misses"]
    model.rank(ecg, PROMPTS[2:] + ["a brand new prompt"])
    # the cache keys on ECG.content_hash(): the same signal under another name and file is the same ECG
    model.embed_ecg(dataclasses.replace(ecg, name="copy.hea", metadata={"source": "elsewhere"}))
    assert model.cache.info()["ecg_misses"] == misses, "the ECG was embedded again"
    model.embed_ecg(synthetic_ecg(seed=8))
    assert model.cache.info()["ecg_misses"] == misses + 1


def test_windows_prepared_elsewhere_give_the_same_embeddings(small):
    """embed_ecg(model_input=...): windows made by preprocess.to_model_input in another process (the CLI's
    readers) embed exactly as when embed_ecg preprocesses them itself."""
    ecgs = [synthetic_ecg(seed=s) for s in range(3)] + [synthetic_ecg(seconds=27.0, fs=250.0, seed=9)]
    small.clear_caches()
    direct = small.embed_ecg(ecgs, batch_size=4)
    small.clear_caches()
    prepared = [to_model_input(e, small.preprocess_cfg)[:2] for e in ecgs]
    assert np.array_equal(small.embed_ecg(ecgs, batch_size=4, model_input=prepared), direct)
    with pytest.raises(ValueError, match="one .windows"):
        small.embed_ecg(ecgs, model_input=prepared[:2])
    with pytest.raises(ValueError, match="to_model_input makes"):
        small.embed_ecg(ecgs[:1], model_input=[(prepared[0][0][:, :, :500], prepared[0][1])])


def test_caches_follow_the_weights(text_encoder):
    m = METS.random_init({"model": {"width": 8}}, seed=0, text_encoder=text_encoder)
    other = METS.random_init({"model": {"width": 8}}, seed=1, text_encoder=text_encoder)
    ecg = synthetic_ecg()
    e0, p0 = m.embed_ecg(ecg), m.embed_prompts(["sinus rhythm"])
    # loading other weights: the answers are the other model's, not the cached ones
    m.model.load_state_dict(other.model.state_dict())
    assert np.allclose(m.embed_ecg(ecg), other.embed_ecg(ecg), atol=1e-6)
    assert np.allclose(m.embed_prompts(["sinus rhythm"]), other.embed_prompts(["sinus rhythm"]), atol=1e-6)
    # a training step on the model (a trainer validating with a METS around it)
    e1, p1 = m.embed_ecg(ecg), m.embed_prompts(["sinus rhythm"])
    opt = torch.optim.SGD(m.model.parameters(), lr=1.0)
    m.model.train()
    x, mask, _ = to_model_input(ecg)
    (m.model.encode_ecg(torch.from_numpy(x), torch.from_numpy(mask)).sum()
     + m.model.project_text(torch.ones(1, 384)).sum()).backward()
    opt.step()
    assert not np.allclose(m.embed_ecg(ecg), e1, atol=1e-4)
    assert not np.allclose(m.embed_prompts(["sinus rhythm"]), p1, atol=1e-4)
    # a hand edit in place is announced with clear_caches()
    e2 = m.embed_ecg(ecg)
    with torch.no_grad():
        m.model.ecg_proj.weight.mul_(-1.0)
        m.model.ecg_proj.bias.mul_(-1.0)
    m.clear_caches()
    assert np.allclose(m.embed_ecg(ecg), -e2, atol=1e-5)


def test_caches_follow_the_templates(text_encoder):
    m = METS.random_init({"model": {"width": 8}}, seed=0, text_encoder=text_encoder)
    before = m.embed_prompts(["sinus rhythm"], expand=False)[0]
    paper_only = {**m.templates, "ensembles": {k: [v[0]] for k, v in m.templates["ensembles"].items()}}
    m.templates = paper_only                                       # one template instead of the ensemble
    after = m.embed_prompts(["sinus rhythm"], expand=False)[0]
    expected = m.embed_text([paper_only["ensembles"]["diagnostic"][0].replace("{label}", "sinus rhythm")])[0]
    assert np.allclose(after, expected, atol=1e-5)                 # computed with the new templates
    assert not np.allclose(after, before)                          # not the stale cached vector


def test_eleven_lead_one_lead_and_two_lead_ecgs_embed(small):
    full = synthetic_ecg()
    eleven = ECG.from_leads(full.signal[:11], list(STANDARD_LEADS[:11]), full.fs)
    one = ECG.from_leads(full.signal[:1], ["I"], full.fs)
    two = ECG.from_leads(full.signal[[1, 10]], ["MLII", "V5"], full.fs)
    e = small.embed_ecg([full, eleven, one, two])
    assert e.shape == (4, 128) and np.isfinite(e).all() and unit_rows(e)
    assert not np.allclose(e[0], e[2])   # the missing leads are masked, not filled in


def test_thirty_minute_record_embeds_as_mean_of_sliding_windows(small):
    ten = synthetic_ecg(seconds=10.0, fs=360.0, leads=("II", "V1"))          # 30 minutes: 180 copies of 10 s
    ecg = ECG.from_leads(np.tile(ten.signal[ten.lead_mask], 180), ["MLII", "V1"], 360.0)
    e = small.embed_ecg(ecg)[0]
    x, mask, owner = to_model_input(ecg, small.preprocess_cfg)
    assert len(x) == 359 and (owner == 0).all()
    with torch.no_grad():
        z = small.model.eval().encode_ecg(torch.from_numpy(x), torch.from_numpy(mask))
        z = torch.nn.functional.normalize(z, dim=-1).mean(0)
    assert np.allclose(e, (z / z.norm()).numpy(), atol=1e-5)


def test_save_and_load_reproduce_embeddings_exactly(model, text_encoder, tmp_path):
    ecg = synthetic_ecg(seed=3)
    model.save_pretrained(tmp_path / "m", training={"note": "random init"})
    loaded = METS.from_pretrained(tmp_path / "m", text_encoder=text_encoder)
    assert np.array_equal(loaded.embed_ecg(ecg), model.embed_ecg(ecg))
    assert np.array_equal(loaded.embed_text(["sinus rhythm"]), model.embed_text(["sinus rhythm"]))
    assert [m.prompt for m in loaded.rank(ecg, PROMPTS)] == [m.prompt for m in model.rank(ecg, PROMPTS)]
    assert loaded.config()["training"] == {"note": "random init"}
    assert loaded.text_model == DEFAULT_TEXT_MODEL and loaded.weights_sha256 == model.weights_sha256


def test_known_prompts_never_load_the_text_model_when_the_weights_ship_their_sentences(model, tmp_path):
    """The weights folder ships the raw embeddings of every known prompt sentence (text_cache/): ranking
    known phrases and presets needs no transformer (a fresh process proves it), and gives exactly what the
    text model gives; a new phrase still works (it loads the text model on that miss)."""
    import json
    import subprocess
    import sys
    model.save_pretrained(tmp_path / "m")
    model.ship_prompt_cache(tmp_path / "m")
    phrases = PROMPTS + PRESETS["Rhythm"] + ["AF", "conduction disturbance"]
    code = f"""
import json, sys
from mets_core.pipeline import METS
m = METS.from_pretrained({str(tmp_path / "m")!r})
emb = m.embed_prompts({phrases!r})
known = m.known({phrases!r})
print(json.dumps({{"transformers": "transformers" in sys.modules, "emb": emb.tolist()}}))
new = m.embed_prompts(["a phrase nobody shipped"])
print(json.dumps({{"transformers": "transformers" in sys.modules}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    first, second = json.loads(out[0]), json.loads(out[1])
    assert first["transformers"] is False and second["transformers"] is True
    assert np.allclose(np.array(first["emb"]), model.embed_prompts(phrases), atol=1e-6)


def test_save_and_load_without_a_shared_text_encoder(tmp_path):
    m = METS.random_init({"model": {"width": 8}}, seed=2)
    m.save_pretrained(tmp_path / "m")
    loaded = METS.from_pretrained(str(tmp_path / "m"))
    assert np.array_equal(loaded.embed_text(["normal ECG"]), m.embed_text(["normal ECG"]))


def test_default_weights_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("METS_WEIGHTS", str(tmp_path / "not_trained_yet"))
    with pytest.raises(CheckpointError, match="no default METS weights"):
        METS.from_pretrained()
    assert mets_core.METS is METS and mets_core.Match is Match and mets_core.ReportIndex is ReportIndex


def test_text_dim_mismatch_is_a_clear_error(text_encoder):
    with pytest.raises(CheckpointError, match="384-d embeddings"):
        METS.random_init({"model": {"width": 8, "text_dim": 768}}, text_encoder=text_encoder)


# -------------------------------------------------------------------------------------------- saliency

def test_saliency_shapes_and_consistency(small):
    ecg = ECG.from_leads(synthetic_ecg().signal[[0, 1, 6]], ["I", "II", "V1"], 500.0)
    s = small.saliency(ecg, "atrial fibrillation")
    assert s.gradient_x_input.shape == (12, 1000) and s.fs == 100.0
    assert not s.gradient_x_input[~s.lead_mask].any() and s.gradient_x_input[s.lead_mask].any()
    assert s.similarity == pytest.approx(next(m.similarity for m in small.rank(ecg, ["atrial fibrillation"])),
                                         abs=1e-5)
    assert np.isnan(s.lead_occlusion[~s.lead_mask]).all() and np.isfinite(s.lead_occlusion[s.lead_mask]).all()
    assert s.segment_occlusion.shape == (10,) and s.segment_s == 1.0
    # occluding lead I = the same ECG with lead I zeroed, computed independently
    pp = preprocess(ecg, small.preprocess_cfg)
    x = torch.from_numpy(pp.signal.copy())[None]
    x[0, 0] = 0
    with torch.no_grad():
        z = torch.nn.functional.normalize(small.model.eval().encode_ecg(x, torch.from_numpy(pp.lead_mask)[None]), dim=-1)
    p = small.embed_prompts(["atrial fibrillation"])[0]
    assert s.lead_occlusion[0] == pytest.approx(s.similarity - float(z[0].numpy() @ p), abs=1e-5)


# ----------------------------------------------------------------------------------------------- index

def test_index_build_search_save_load(model, tmp_path):
    reports = ["sinus rhythm. normal ecg.", "atrial fibrillation with rapid ventricular response",
               "left bundle branch block", "sinus bradycardia, left ventricular hypertrophy"]
    index = ReportIndex.build(model, reports, ["a", "b", "c", "d"])
    hits = index.search("left bundle branch block", k=2)
    assert hits[0][:3] == ("left bundle branch block", pytest.approx(1.0, abs=1e-5), "c")
    assert hits[0] == Hit("left bundle branch block", pytest.approx(1.0, abs=1e-5), "c", 1, ("c",))
    assert len(hits) == 2 and hits[0].similarity >= hits[1].similarity
    ecg_hits = index.search(model, synthetic_ecg(), 10)                 # the other calling form
    assert len(ecg_hits) == 4 and [h.similarity for h in ecg_hits] == sorted((h.similarity for h in ecg_hits), reverse=True)
    index.save(tmp_path / "idx")
    loaded = ReportIndex.load(tmp_path / "idx", model=model)
    assert loaded.reports == reports and loaded.source_ids == ["a", "b", "c", "d"]
    assert np.allclose(loaded.embeddings, index.embeddings, atol=1e-3)      # float16 on disk
    assert [h.source_id for h in loaded.search(synthetic_ecg(), k=4)] == [h.source_id for h in ecg_hits]
    # a blank report (two PTB-XL rows have none) is no entry: a search never returns an empty hit
    with_blank = ReportIndex.build(model, reports[:2] + [" ", ""], ["a", "b", "blank", "empty"])
    assert with_blank.reports == reports[:2] and with_blank.source_ids == ["a", "b"]


def test_index_refuses_a_model_with_other_weights(model, text_encoder, tmp_path):
    model.save_pretrained(tmp_path / "m")
    index = ReportIndex.build(model, ["normal ecg"])
    index.save(tmp_path / "idx")
    other = METS.random_init(seed=1, text_encoder=text_encoder)
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(ReportIndexError, match="rebuild the index"):
        ReportIndex.load(tmp_path / "idx", model=other)
    with pytest.raises(ReportIndexError, match="does not exist"):
        ReportIndex.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportIndexError, match="not a report index"):
        ReportIndex.load(tmp_path / "empty")


def test_distinct_search_gives_one_hit_per_record_and_per_wording():
    # ten windows of one Holter, or "sinus rhythm at 61 / 65 bpm", would otherwise fill the list
    reports = ["afib. 2 PVCs.", "afib. rapid ventricular rate.", "sinus rhythm at 61 bpm.", "Sinus rhythm at 65 bpm.",
               "left bundle branch block.", "sinus rhythm at 61 bpm. 1 PVC.", "paced rhythm."]
    ids = ["mitdb/203:10", "mitdb/203:20", "ludb/1:0", "ludb/2:0", "ptbxl/7:0", "cinc2017/A1:0", "mitdb/217:0"]
    order = [0, 1, 2, 3, 4, 5, 6]                 # the query's nearest first: similarity falls down the list
    emb = np.zeros((len(reports), 8), dtype=np.float32)
    for rank, i in enumerate(order):
        emb[i, 0], emb[i, 1 + rank % 7] = 1.0 - 0.1 * rank, 0.5
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    index = ReportIndex(reports, emb, ids)
    q = np.eye(8, dtype=np.float32)[0]
    plain = index.search_embedding(q, k=4)
    assert [h.source_id for h in plain] == ["mitdb/203:10", "mitdb/203:20", "ludb/1:0", "ludb/2:0"]
    distinct = index.search_embedding(q, k=4, distinct=True)
    assert [h.source_id for h in distinct] == ["mitdb/203:10", "ludb/1:0", "ptbxl/7:0", "cinc2017/A1:0"]
    assert [h.source_id for h in index.search_embedding(q, k=10, distinct=True)] == \
        ["mitdb/203:10", "ludb/1:0", "ptbxl/7:0", "cinc2017/A1:0", "mitdb/217:0"]      # all there is


def test_a_report_near_every_reference_ecg_is_ranked_down(tmp_path):
    # CSLS: 2 cos(ecg, report) - the report's mean cosine to its nearest reference ECGs
    rng = np.random.default_rng(0)
    e = np.eye(8, dtype=np.float32)
    reference = e[0] + 0.2 * rng.standard_normal((40, 8)).astype(np.float32)       # the ECGs, all near e0
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    index = ReportIndex(["hub: near every ECG", "specific", "other"], np.stack([e[0], e[1], e[2]]),
                        ["a/1:0", "b/1:0", "c/1:0"])
    query = 1.1 * e[0] + e[1]
    query /= np.linalg.norm(query)
    assert [h.report for h in index.search_embedding(query, k=2)] == ["hub: near every ECG", "specific"]
    assert index.search_embedding(query, k=2, rank_hubs_down=True)[0].report == "hub: near every ECG"  # no penalty yet
    index.set_reference(reference, k=10)
    assert index.hub_penalty[0] > 0.9 and abs(index.hub_penalty[1]) < 0.3
    hits = index.search_embedding(query, k=2, rank_hubs_down=True)
    assert [h.report for h in hits] == ["specific", "hub: near every ECG"]
    assert hits[0].similarity == pytest.approx(float(query @ e[1]), abs=1e-6)       # the cosine is what is shown
    assert [h.report for h in index.search_embedding(query, k=2)] == ["hub: near every ECG", "specific"]
    index.save(tmp_path / "idx")                                                   # kept with the index
    loaded = ReportIndex.load(tmp_path / "idx")
    assert np.allclose(loaded.hub_penalty, index.hub_penalty)
    assert loaded.search_embedding(query, k=1, rank_hubs_down=True)[0].report == "specific"
    with pytest.raises(ReportIndexError, match="hub penalties"):
        ReportIndex(["a"], e[:1], hub_penalty=np.zeros(2))


def test_top_k_of_50000_matches_a_full_sort():
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((50_000, 128)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    index = ReportIndex([f"r{i}" for i in range(50_000)], emb)
    q = emb[123] + 0.1 * rng.standard_normal(128).astype(np.float32)
    q /= np.linalg.norm(q)
    hits = index.search_embedding(q, k=10)
    assert [h.report for h in hits] == [f"r{i}" for i in np.argsort(-(emb @ q))[:10]]
    assert hits[0].report == "r123"


# --------------------------------------------------------------------------------------- real records

def test_real_records_of_every_lead_layout_embed(small):
    d = shared_data_dir()
    ecgs = [ludb_ecg(1), wfdb_ecg(d / "ptbdb" / "patient200_s0405_re"),   # 12 leads at 500 Hz / 1 kHz
            wfdb_ecg(sorted((d / "cinc2017").glob("*.hea"))[0].with_suffix("")),  # 1 lead, 300 Hz
            wfdb_ecg(d / "mitdb" / "101")]                                  # 2 leads, 360 Hz, 30 min
    e = small.embed_ecg(ecgs)
    assert e.shape == (4, 128) and np.isfinite(e).all() and unit_rows(e)
    ranked = small.rank(ecgs[0], PROMPTS)
    assert len(ranked) == 5 and sum(m.probability for m in ranked) == pytest.approx(1.0)


def test_more_ecgs_than_the_cache_holds(text_encoder):
    m = METS.random_init({"model": {"width": 8}}, seed=0, text_encoder=text_encoder)
    m.cache_size = 2
    ecgs = [synthetic_ecg(seed=s) for s in range(5)]
    together = m.embed_ecg(ecgs)
    m.clear_caches()
    one_by_one = np.concatenate([m.embed_ecg(e) for e in ecgs])
    assert np.allclose(together, one_by_one, atol=1e-6) and m.cache.info()["ecgs"] == 2


def test_concurrent_sessions_get_the_same_answers(small):
    from concurrent.futures import ThreadPoolExecutor
    ecgs = [synthetic_ecg(seed=s) for s in range(4)]
    prompt_sets = [[f"{p} {i}" for p in PROMPTS] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda a: small.rank(*a), zip(ecgs, prompt_sets)))
    small.clear_caches()
    sequential = [small.rank(e, p) for e, p in zip(ecgs, prompt_sets)]
    for par, seq in zip(parallel, sequential):
        assert [m.prompt for m in par] == [m.prompt for m in seq]
        assert np.allclose([m.similarity for m in par], [m.similarity for m in seq], atol=1e-5)
