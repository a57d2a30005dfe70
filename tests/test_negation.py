"""Negated prompts ("no atrial fibrillation") and the ranking's honesty: a contrastive ECG-text model cannot read
"no", so a negated phrase is scored as the finding it names, said to be so, listed apart and never crowned; the
softmax ("relative among these") is over the ranked phrases only; weights without reference ECGs give no
percentile (no NaN, no warning, no "no confident match"); and `--prompts-file` drops inline comments.

The shipped weights (weights/) are the model; the real AF ECGs are LUDB's (METS_DATA_DIR)."""
from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from dashboard_fixtures import REPO, markdown_html, rank_rows, ranking, upload  # noqa: F401 (repo on sys.path)
from helpers import data_dir_or_none, needs_data
from mets_core.knowledge import STANDS_OUT_PERCENTILE, negation

SHIPPED = REPO / "weights"
LUDB = "ludb/data/1.hea"

# ------------------------------------------------------------------------------------------- the rule

NEGATED = [      # typed -> (cue, finding)
    ("no atrial fibrillation", "no", "atrial fibrillation"),
    ("No AF.", "no", "AF"),
    ("not bradycardia", "not", "bradycardia"),
    ("without ST elevation", "without", "ST elevation"),
    ("absence of P waves", "absence of", "P waves"),
    ("absent P waves", "absent", "P waves"),
    ("negative for myocardial infarction", "negative for", "myocardial infarction"),
    ("ruled out STEMI", "ruled out", "STEMI"),
    ("rule out MI", "rule out", "MI"),
    ("free of arrhythmia", "free of", "arrhythmia"),
    ("no evidence of ischaemia", "no evidence of", "ischaemia"),
    ("no signs of left ventricular hypertrophy", "no signs of", "left ventricular hypertrophy"),
    ("no acute changes", "no", "acute changes"),
    ("  NO   atrial  fibrillation ", "no", "atrial fibrillation"),
    ("atrial fibrillation absent", "absent", "atrial fibrillation"),
    ("ST elevation ruled out", "ruled out", "ST elevation"),
    ("myocardial infarction: excluded", "excluded", "myocardial infarction"),
    ("kein Vorhofflimmern", "kein", "Vorhofflimmern"),
    ("ohne ST-Hebung", "ohne", "ST-Hebung"),
    # CPSC 2021's label of every record without AF ("Rank the file's own labels" types it): it was ranked, and
    # crowned, as if the model read "non"
    ("non atrial fibrillation", "non", "atrial fibrillation"),
    ("non-atrial fibrillation", "non", "atrial fibrillation"),
    ("non atrial fibrillation rhythm", "non", "atrial fibrillation rhythm"),
    ("Non-AF rhythm", "non", "AF rhythm"),
]
NOT_NEGATED = [  # medical terms that look like negations, and findings
    "non-specific ST changes", "nonspecific T wave changes", "non specific intraventricular conduction delay",
    "non-Q-wave myocardial infarction", "non-ST elevation myocardial infarction", "non-STEMI",
    "non-sustained ventricular tachycardia", "non-conducted P waves", "non-ischaemic cardiomyopathy",
    "nondiagnostic", "incomplete right bundle branch block",
    "notched P waves", "nodal rhythm", "normal ECG", "negative T waves", "abnormal rhythm, not atrial fibrillation",
    "sinus rhythm", "atrial fibrillation", "no", "not", "absent", "no-reflow", "",
]


@pytest.mark.parametrize("typed,cue,finding", NEGATED)
def test_a_negated_phrase_names_its_cue_and_finding(typed, cue, finding):
    found = negation(typed)
    assert found is not None and (found.cue, found.finding) == (cue, finding)


@pytest.mark.parametrize("typed", NOT_NEGATED)
def test_medical_terms_that_look_negated_are_findings(typed):
    assert negation(typed) is None


# ------------------------------------------------------------------------------- the library, real AF

@pytest.fixture(scope="module")
def shipped():
    from mets_core import METS
    if not (SHIPPED / "reference.safetensors").is_file():
        pytest.skip("weights/ ships no reference ECGs")
    return METS.from_pretrained(SHIPPED)


def _ludb_af_records(data: Path) -> list[Path]:
    heads = sorted((data / "ludb" / "data").glob("*.hea"), key=lambda p: int(p.stem))
    return [p for p in heads if "Atrial fibrillation" in p.read_text(encoding="utf-8", errors="replace")]


@needs_data(LUDB)
def test_on_real_af_ecgs_no_atrial_fibrillation_is_the_findings_score_and_never_stands_out(shipped):
    """LUDB's 15 AF records: "no atrial fibrillation" used to be scored as the vocabulary's own "no atrial
    fibrillation" statement (AUC 0.98 on 5 CPSC negatives) and stood out on some AF ECGs. Now it is scored as
    "atrial fibrillation" -- the same percentile, which stands out on several of these -- yet never stands out,
    comes after the ranked phrases and takes no share of the softmax."""
    from mets_core import read_ecg
    prompts = ["sinus rhythm", "no atrial fibrillation", "atrial fibrillation", "without ST elevation"]
    records = _ludb_af_records(data_dir_or_none(LUDB))
    assert len(records) >= 10
    af_stood_out = 0
    for path in records:
        ranked = shipped.rank(read_ecg(path), prompts)
        by = {m.prompt: m for m in ranked}
        neg, af = by["no atrial fibrillation"], by["atrial fibrillation"]
        assert neg.negates == "atrial fibrillation" and not neg.stands_out and neg.probability is None
        assert neg.percentile == af.percentile and neg.similarity == af.similarity
        assert neg.validation_auc == af.validation_auc and neg.statement == af.statement
        assert by["without ST elevation"].negates == "ST elevation" and not by["without ST elevation"].stands_out
        assert [m.prompt for m in ranked][2:] == ["no atrial fibrillation", "without ST elevation"]   # as typed
        assert sum(m.probability for m in ranked[:2]) == pytest.approx(1.0)
        af_stood_out += af.stands_out and af.percentile >= STANDS_OUT_PERCENTILE
    assert af_stood_out >= 1, "the finding should stand out on some AF ECG, so that the test means something"


def test_unknown_phrases_take_no_share_of_the_softmax(shipped):
    from mets_core.simulate import simulate_ecg
    ranked = shipped.rank(simulate_ecg(), ["sinus rhythm", "atrial fibrillation", "banana"])
    by = {m.prompt: m for m in ranked}
    assert by["banana"].known is False and by["banana"].probability is None
    assert ranked[-1].prompt == "banana"
    assert by["sinus rhythm"].probability + by["atrial fibrillation"].probability == pytest.approx(1.0)
    # the softmax of the two ranked phrases alone, at the model's temperature
    logits = shipped.logit_scale * np.array([by["sinus rhythm"].similarity, by["atrial fibrillation"].similarity])
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert by["sinus rhythm"].probability == pytest.approx(float(want[0]), abs=1e-6)


# ------------------------------------------------------------------------------ weights without reference

def _weights_without_reference(folder: Path, empty: bool) -> Path:
    """The shipped weights without their reference ECGs: none at all, or a reference of no ECGs."""
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "knowledge.json", "known_phrasings.safetensors"):
        shutil.copy(SHIPPED / name, folder / name)
    shutil.copytree(SHIPPED / "text_cache", folder / "text_cache")
    if empty:
        from safetensors.numpy import save_file
        dim = json.loads((SHIPPED / "config.json").read_text())["model"]["proj_dim"]
        save_file({"embeddings": np.zeros((0, dim), np.float32), "n_leads": np.zeros(0, np.int16)},
                  str(folder / "reference.safetensors"))
    return folder


@pytest.mark.parametrize("empty", [False, True], ids=["no reference file", "a reference of no ECGs"])
def test_without_reference_ecgs_no_percentile_no_warning_and_order_by_similarity(tmp_path, empty):
    from dashboard.ranking import build_view
    from mets_core import METS
    from mets_core.simulate import simulate_ecg
    model = METS.from_pretrained(_weights_without_reference(tmp_path / "w", empty))
    prompts = ["sinus rhythm", "atrial fibrillation", "no atrial fibrillation", "sinus bradycardia"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = model.rank(simulate_ecg(), prompts)
    assert all(m.percentile is None and not m.stands_out for m in ranked)
    sims = [m.similarity for m in ranked if m.negates is None]
    assert sims == sorted(sims, reverse=True)
    view = build_view(ranked, prompts)
    assert not view.has_reference and "no reference population" in view.headline
    assert "No confident match" not in view.headline and view.reading.startswith("not judged")
    assert "no reference percentile for this ECG" in view.negated[0].negation_words


# ------------------------------------------------------------------------------------------------ CLI

def _csv_record(path: Path) -> Path:
    from mets_core.simulate import simulate_ecg
    ecg = simulate_ecg(fs=250)
    t = np.arange(ecg.signal.shape[1]) / ecg.fs
    rows = ["time," + ",".join(ecg.leads)] + [f"{t[k]:.4f}," + ",".join(f"{v:.5f}" for v in ecg.signal[:, k])
                                              for k in range(len(t))]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_cli_lists_negated_prompts_apart_and_reads_inline_comments(shipped, tmp_path, capsys):
    from mets_core.cli import main
    record = _csv_record(tmp_path / "synthetic.csv")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("sinus rhythm   # the baseline\n# a whole comment line\natrial fibrillation\n"
                       "no atrial fibrillation  # negated\nbanana\n")
    assert main(["rank", str(record), "--model", str(SHIPPED), "--prompts-file", str(prompts), "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert [m["prompt"] for m in result["matches"]] != [] and \
        {m["prompt"] for m in result["matches"]} == {"sinus rhythm", "atrial fibrillation"}
    assert [m["prompt"] for m in result["negated"]] == ["no atrial fibrillation"]
    assert result["negated"][0]["negates"] == "atrial fibrillation" and result["negated"][0]["probability"] is None
    # a phrase the model does not know gets no numbers at all (they would read as a judgement it cannot make)
    assert result["not_known"] == [{"prompt": "banana", "known": False}]
    assert sum(m["probability"] for m in result["matches"]) == pytest.approx(1.0, abs=1e-6)

    assert main(["rank", str(record), "--model", str(SHIPPED), "--prompts-file", str(prompts)]) == 0
    text = capsys.readouterr().out
    assert "negated (scored as the finding, not ranked):" in text
    assert ("“no atrial fibrillation”: the model cannot read “no”; it scores the finding “atrial fibrillation” ("
            in text and "A low percentile is not evidence of absence." in text)
    assert "# the baseline" not in text and "not known to the model (not ranked): banana" in text

    out = tmp_path / "rank.csv"
    assert main(["rank", str(record), "--model", str(SHIPPED), "--prompts-file", str(prompts),
                 "--out", str(out)]) == 0
    [row] = list(csv.DictReader(out.open()))
    assert row["negated"] == "no atrial fibrillation (scored as atrial fibrillation)"
    # a negated phrase: the similarity of the finding it was scored as (as the printed table), never a share
    assert row["similarity[no atrial fibrillation]"] != "" and row["probability[no atrial fibrillation]"] == ""
    assert row["probability[banana]"] == "" and row["similarity[banana]"] == ""
    assert float(row["probability[sinus rhythm]"]) + float(row["probability[atrial fibrillation]"]) == \
        pytest.approx(1.0, abs=1e-5)
    assert "no atrial fibrillation" not in row["stands_out"]


def test_cli_without_reference_says_no_nan_and_crowns_nothing(tmp_path, capsys):
    from mets_core.cli import main
    folder = _weights_without_reference(tmp_path / "w", empty=True)
    record = _csv_record(tmp_path / "synthetic.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(["rank", str(record), "--model", str(folder), "-p", "sinus rhythm", "-p",
                     "atrial fibrillation"]) == 0
    text = capsys.readouterr().out
    assert "nan" not in text and "no confident match" not in text and "percentile" not in text


# ------------------------------------------------------------------------------------------ dashboard

def test_the_view_and_panel_list_negated_phrases_apart():
    from types import SimpleNamespace

    from dashboard.panels.ranking import ranking_html
    from dashboard.ranking import build_view

    def match(prompt, pct, probability, negates=None, known=True):
        return SimpleNamespace(prompt=prompt, similarity=0.2, probability=probability, percentile=pct, known=known,
                               validation_auc=0.98, expansion=(), statement=None, negates=negates)
    typed = ["sinus rhythm", "no atrial fibrillation", "not bradycardia"]
    view = build_view([match("sinus rhythm", 40.0, 1.0), match("not bradycardia", 9.0, None, "bradycardia"),
                       match("no atrial fibrillation", 97.0, None, "atrial fibrillation")], typed)
    assert [r.prompt for r in view.rows] == ["sinus rhythm"] and not view.standing_out
    assert [r.prompt for r in view.negated] == ["no atrial fibrillation", "not bradycardia"]   # as typed
    # 97th percentile of the finding crowns nothing, but the headline does not read as all clear
    assert view.headline.startswith("No confident match")
    assert "But the finding “atrial fibrillation” (you typed “no atrial fibrillation”) scores higher than 90%" \
        in view.headline and "bradycardia" not in view.headline
    html = ranking_html(view)
    negated = html[html.index('data-testid="mets-negated"'):].replace("&quot;", '"')
    assert ("“no atrial fibrillation”: the model cannot read “no”; it scores the finding “atrial fibrillation” "
            "(97th percentile of reference ECGs). The finding itself stands out: this ECG resembles “atrial "
            "fibrillation”. Check the tracing.") in negated
    assert ("“not bradycardia”: the model cannot read “not”; it scores the finding “bradycardia” (9th percentile "
            "of reference ECGs). A low percentile is not evidence of absence.") in negated
    assert "validated" not in negated                             # no reliability cue of its own
    assert html.count('data-testid="mets-rank-row"') == 1
    # only negated phrases: nothing ranked, and the headline says why
    only = build_view([match("no atrial fibrillation", 97.0, None, "atrial fibrillation")])
    assert not only.rows and "cannot read" in only.headline and not only.standing_out


def test_a_ranked_row_without_probability_shows_a_dash():
    from types import SimpleNamespace

    from dashboard.panels.ranking import ranking_html
    from dashboard.ranking import build_view
    view = build_view([SimpleNamespace(prompt="sinus rhythm", similarity=0.2, probability=None, percentile=50.0)])
    html = ranking_html(view)
    assert 'data-probability=""' in html and ">—<" in html


def test_the_reader_lists_a_typed_negation_apart(app):
    """Typed in the Reader's phrase box (the test checkpoint: random weights, no reference ECGs)."""
    from dashboard_fixtures import a_wfdb_upload
    upload(app, a_wfdb_upload())
    app.text_area(key="prompts_text").input("sinus rhythm\nno atrial fibrillation\natrial fibrillation").run()
    assert not app.exception
    html = markdown_html(app)
    assert [r["prompt"] for r in ranking(app)] != [] and \
        {r["prompt"] for r in ranking(app)} == {"sinus rhythm", "atrial fibrillation"}
    assert sum(r["probability"] for r in ranking(app)) == pytest.approx(1.0, abs=1e-5)
    assert 'data-testid="mets-negated"' in html and 'data-prompt="no atrial fibrillation"' in html
    assert "the model cannot read “no”; it scores the finding “atrial fibrillation”" in html


@needs_data(LUDB)
def test_the_reader_on_a_real_af_ecg_with_the_shipped_weights(monkeypatch):
    """LUDB 112 (atrial fibrillation): "atrial fibrillation" stands out; "no atrial fibrillation" is listed
    apart with the same percentile and is not crowned."""
    from dashboard_fixtures import new_app
    monkeypatch.setenv("METS_WEIGHTS", str(SHIPPED))
    monkeypatch.setenv("METS_THREADS", "0")
    app = new_app()
    d = data_dir_or_none(LUDB) / "ludb" / "data"
    upload(app, [(f"112{ext}", (d / f"112{ext}").read_bytes()) for ext in (".hea", ".dat")])
    app.text_area(key="prompts_text").input("no atrial fibrillation\nsinus rhythm\natrial fibrillation").run()
    assert not app.exception
    html = markdown_html(app)
    assert rank_rows(app) == 2 and 'data-prompt="no atrial fibrillation" data-stands-out' not in html
    headline = html[html.index('data-testid="mets-headline"'):]
    headline = headline[:headline.index("</div>")]
    assert "atrial fibrillation" in headline and "no atrial fibrillation" not in headline
    negated = html[html.index('data-testid="mets-negated"'):]
    assert "“no atrial fibrillation”: the model cannot read “no”" in negated
    assert "percentile of reference ECGs" in negated
