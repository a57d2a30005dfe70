"""mets export: a run -> a loadable model folder with its report index, keeping the shipped model card."""
from __future__ import annotations

import csv
import json

import numpy as np

from mets_core.index import ReportIndex
from mets_core.mets import METS
from mets_core.training.export import export_model


def _fake_run_and_corpus(tmp_path):
    model = METS.random_init({"model": {"width": 8}}, seed=0)
    model.save_pretrained(tmp_path / "run" / "best")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with open(corpus / "windows.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["idx", "source", "record", "start_s", "report"])
        w.writeheader()
        w.writerow({"idx": 0, "source": "ludb", "record": "1", "start_s": "0.000", "report": "sinus rhythm."})
        w.writerow({"idx": 1, "source": "mitdb", "record": "101", "start_s": "600.000",
                    "report": "atrial fibrillation. 2 premature ventricular complexes."})
    return model, tmp_path / "run", corpus


def test_export_writes_weights_index_and_keeps_the_card(tmp_path):
    model, run, corpus = _fake_run_and_corpus(tmp_path)
    out = tmp_path / "weights"
    card = tmp_path / "CARD.md"
    card.write_text("# card\n", encoding="utf-8")
    export_model(run, corpus, out, card=card)
    export_model(run, corpus, out)                          # re-export without --card: the shipped card is kept
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8") == "# card\n"
    loaded = METS.from_pretrained(out)
    x = np.random.default_rng(0).normal(size=(1, 128)).astype(np.float32)
    assert loaded.weights_sha256 == json.loads((out / "config.json").read_text())["weights_sha256"]
    index = ReportIndex.load(out / "index", model=loaded)
    assert index.source_ids == ["ludb/1:0", "mitdb/101:600"]   # the dashboard's database/record:start form
    assert len(index) == 2 and index.embeddings.shape[1] == x.shape[1]
    hit = index.search(loaded, "atrial fibrillation with premature ventricular complexes", k=1)[0]
    assert hit.source_id in index.source_ids
