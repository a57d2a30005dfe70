"""mets export: a run -> a loadable model folder with its report index (identical texts collapsed), its
calibration (knowledge.json, reference.safetensors) and the shipped model card."""
from __future__ import annotations

import json

import numpy as np

from mets_core.index import ReportIndex
from mets_core.pipeline import METS
from mets_train.training.data import Corpus
from mets_train.training.export import export_model, source_ids
from mets_train.training.synthetic import write_synthetic_corpus


def _fake_run_and_corpus(tmp_path):
    model = METS.random_init({"model": {"width": 8}}, seed=0)
    model.save_pretrained(tmp_path / "run" / "best")
    corpus = write_synthetic_corpus(tmp_path / "corpus", n_patients=12, windows_per_patient=3)
    return model, tmp_path / "run", corpus


def test_export_writes_weights_index_calibration_and_keeps_the_card(tmp_path):
    model, run, corpus = _fake_run_and_corpus(tmp_path)
    out = tmp_path / "weights"
    card = tmp_path / "CARD.md"
    card.write_text("# card\n", encoding="utf-8")
    export_model(run, corpus, out, card=card)
    export_model(run, corpus, out)                          # re-export without --card: the shipped card is kept
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8") == "# card\n"
    loaded = METS.from_pretrained(out)
    assert loaded.weights_sha256 == json.loads((out / "config.json").read_text())["weights_sha256"]

    # the index: one entry per distinct text, remembering how many windows had it and where they came from
    reports, ids = source_ids(corpus)
    index = ReportIndex.load(out / "index", model=loaded)
    assert sorted(index.reports) == sorted(set(reports)) and len(index) < len(reports)
    assert sum(index.counts) == len(reports)
    for text, first_id, n in zip(index.reports, index.source_ids, index.counts):
        assert first_id == ids[reports.index(text)] and n == reports.count(text)
    hits = index.search(loaded, "Atrial fibrillation.", k=len(index), distinct=False, rank_hubs_down=False)
    assert len({h.report for h in hits}) == len(hits) == len(index)        # never the same text twice
    assert all(h.n_ecgs >= 1 and h.sources for h in hits)
    # each report's hub penalty: its mean cosine to its nearest reference ECGs (the validation windows)
    assert index.hub_penalty is not None and index.hub_penalty.shape == (len(index),)
    assert np.all(np.abs(index.hub_penalty) <= 1.0 + 1e-3)

    # calibration: the reference population is the validation windows, the threshold a number
    val = Corpus.open(corpus).indices("val")
    assert loaded.reference["embeddings"].shape == (len(val), loaded.model.cfg.proj_dim)
    assert np.allclose(np.linalg.norm(loaded.reference["embeddings"], axis=1), 1, atol=1e-2)
    knowledge = json.loads((out / "knowledge.json").read_text())
    assert isinstance(knowledge["known_threshold"], float) and knowledge["reference"]["n_windows"] == len(val)
    # the known phrasings' embeddings travel with the weights and equal what the text model gives now
    stored = loaded.knowledge.known_embeddings(lambda texts: (_ for _ in ()).throw(AssertionError("recomputed")))
    fresh = loaded.text_encoder.encode(knowledge["known_phrasings"][:5])
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    assert np.allclose(stored[:5], fresh, atol=2e-3)
    # the prompt sentences' text embeddings travel too (text_cache/): known prompts rank without the text model
    shards = list((out / "text_cache").glob("*.safetensors"))
    assert shards, "export must ship the prompt cache"


def test_the_shipped_index_has_no_blank_entry_and_never_says_a_finding_and_its_absence():
    # Stop 29 rebuilt it: two PTB-XL rows without a report were an empty entry, and CPSC 2021 windows where
    # atrial fibrillation starts or stops read "afib. no atrial fibrillation." (statements.json "unsaid_with")
    from pathlib import Path

    from mets_train.corpus.vocabulary import Vocabulary
    shipped = Path(__file__).resolve().parents[1] / "weights" / "index"
    meta = json.loads((shipped / "index.json").read_text("utf-8"))
    assert meta["count"] == len(meta["reports"]) and all(r.strip() for r in meta["reports"])
    assert ReportIndex.load(shipped).hub_penalty is not None      # reports near every ECG are ranked down
    vocab = Vocabulary.load()
    for statement in vocab.statements.values():
        for other in statement.unsaid_with:
            own, others = set(statement.phrases), set(vocab.statements[other].phrases)
            both = [r for r in meta["reports"] if own & set(r.rstrip(".").split(". ")) and
                    others & set(r.rstrip(".").split(". "))]
            assert not both, both[:3]


def test_a_ptbxl_report_cut_off_at_its_255_character_field_ends_in_an_ellipsis(tmp_path):
    # 708 of PTB-XL's reports fill the field and stop mid-word ("... this ma"): the index says so
    import csv

    from fake_ptbxl import write_fake_ptbxl
    from mets_train.training.export import PTBXL_REPORT_FIELD, ptbxl_reports
    root = write_fake_ptbxl(tmp_path / "ptbxl", {1: (1, set()), 2: (2, set())})
    table = root / "ptbxl_database.csv"
    rows = list(csv.DictReader(table.open(newline="")))
    cut = ("sinus rhythm. t waves are inverted in i, avl, v5,6. " * 6)[:PTBXL_REPORT_FIELD]
    rows[0]["report"] = cut
    with table.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    reports, ids = ptbxl_reports(tmp_path)
    assert ids == ["ptbxl/1:0", "ptbxl/2:0"]
    assert reports[0].endswith("…") and reports[0][:-1] == cut.rstrip(" .,;:")    # English: unchanged but the mark
    assert reports[1] == "report of ecg 2"                                           # a whole report: as it was
