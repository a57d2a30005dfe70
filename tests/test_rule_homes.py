"""Each rule a clinician reads in one place, said alike by the library (Match), the dashboard's ranking and the
`mets` command line: what stands out, how reliable a validation AUC is, a percentile as shown, what a prompt was
scored as, the unit length of embeddings, and the option checks the commands share."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.ranking import build_view, reliability, to_row  # noqa: E402
from helpers import write_cli_model  # noqa: E402
from mets_core import knowledge  # noqa: E402
from mets_core.cli import main  # noqa: E402
from mets_core.knowledge import (AUC_FAIR, AUC_VALIDATED, SCORED_AS_SHOWN, STANDS_OUT_PERCENTILE,  # noqa: E402
                                 negation_words, reliability_label, reliability_level, scored_as_words,
                                 shown_percentile)
from mets_core.pipeline import METS, Match  # noqa: E402
from mets_core.prompts import l2_normalise  # noqa: E402

FREE = "banana"                     # names no statement: known only through the weights' threshold
KNOWN = "atrial fibrillation"       # names a statement: known whatever the weights carry


def write_csv(path: Path, fs: float = 250.0, seconds: float = 10.0) -> Path:
    t = np.arange(int(fs * seconds)) / fs
    beat = np.exp(-((t % 0.8) - 0.3) ** 2 / (2 * 0.01 ** 2))
    rows = ["time,I,II,V1"] + [f"{ti:.4f},{b:.5f},{1.2 * b:.5f},{-0.5 * b:.5f}" for ti, b in zip(t, beat)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("rule_homes") / "ecg.csv")


@pytest.fixture(scope="module")
def no_threshold_model(tmp_path_factory, record) -> Path:
    """Weights with reference ECGs but no known-phrase threshold (knowledge.json without known_threshold), whose
    reference ECGs all resemble both FREE and KNOWN less than `record` does: both score the 100th percentile."""
    from safetensors.numpy import save

    from mets_core import read_ecg
    base = write_cli_model(tmp_path_factory.mktemp("rule_homes_base") / "model", ["sinus rhythm", KNOWN])
    m = METS.from_pretrained(base)
    x = m.embed_ecg(read_ecg(record))[0]
    free, known = m.embed_prompts([FREE, KNOWN])
    ref = l2_normalise(x - (free + known))
    assert ref @ free < x @ free - 1e-3 and ref @ known < x @ known - 1e-3     # the premise of the fixture
    folder = tmp_path_factory.mktemp("rule_homes") / "model"
    m.save_pretrained(folder, extra_files={
        "knowledge.json": json.dumps({"validation": {"afib": {"auc": 0.95, "n_positive": 40, "n_windows": 400}},
                                      "reference": {"n_windows": 60, "twelve_lead": 0}}),
        "reference.safetensors": save({"embeddings": np.tile(ref, (60, 1)).astype(np.float32),
                                       "n_leads": np.full(60, 3, np.int64)})})
    return folder


# ------------------------------------------------------------------------------------------- stands out

def test_a_phrase_whose_knownness_cannot_be_told_stands_out_nowhere(no_threshold_model, record, tmp_path, capsys):
    from mets_core import read_ecg
    matches = METS.from_pretrained(no_threshold_model).rank(read_ecg(record), [KNOWN, FREE])
    by = {m.prompt: m for m in matches}
    assert by[FREE].known is None and by[KNOWN].known is True
    assert by[FREE].percentile == by[KNOWN].percentile == 100.0
    # the library, the dashboard and the rule agree, phrase by phrase
    rows = [to_row(m) for m in matches]
    assert [m.stands_out for m in matches] == [r.stands_out for r in rows] == \
        [knowledge.stands_out(m.percentile, m.known, m.negates is not None) for m in matches]
    assert by[KNOWN].stands_out and not by[FREE].stands_out
    view = build_view(matches, [KNOWN, FREE])
    assert [r.prompt for r in view.standing_out] == [KNOWN]
    assert view.headline.startswith(f"Stands out from the reference ECGs: “{KNOWN}”.")
    assert f"“{FREE}” scores at or above the 90th percentile" in view.headline
    assert "not called a match" in view.headline
    # ... and the command line: the --out column and the printed headline
    out = tmp_path / "rank.csv"
    flags = ["-p", KNOWN, "-p", FREE, "--model", str(no_threshold_model)]
    assert main(["rank", str(record), *flags, "--out", str(out)]) == 0
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["stands_out"] == KNOWN
    assert main(["rank", str(record), *flags]) == 0
    printed = capsys.readouterr().out
    assert f"  stands out: {KNOWN}\n" in printed and f"“{FREE}” scores at or above the 90th percentile" in printed


def test_alone_an_undetermined_phrase_leaves_no_confident_match_without_claiming_nothing_scored_high(
        no_threshold_model, record, tmp_path, capsys):
    out = tmp_path / "rank.csv"
    assert main(["rank", str(record), "-p", FREE, "--model", str(no_threshold_model), "--out", str(out)]) == 0
    assert [r["stands_out"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["no confident match"]
    assert main(["rank", str(record), "-p", FREE, "--model", str(no_threshold_model)]) == 0
    printed = capsys.readouterr().out
    assert "  no confident match\n" in printed and "no ranked prompt is at or above" not in printed
    view = build_view([Match(FREE, 0.3, 1.0, percentile=97.0, known=None)])
    assert view.headline.startswith("No confident match. “banana” scores") and not view.standing_out


def test_the_stands_out_rule():
    at = STANDS_OUT_PERCENTILE
    assert knowledge.stands_out(at, True) and knowledge.stands_out(100.0, np.bool_(True))
    assert not knowledge.stands_out(at - 0.01, True)
    assert not knowledge.stands_out(at, None) and not knowledge.stands_out(at, False)
    assert not knowledge.stands_out(at, True, negated=True) and not knowledge.stands_out(None, True)
    assert knowledge.not_judged(at, None) and not knowledge.not_judged(at, True)
    assert not knowledge.not_judged(at - 1, None) and not knowledge.not_judged(at, None, negated=True)


def test_a_negated_finding_is_news_only_where_the_finding_would_stand_out():
    negated = [("no AF", "atrial fibrillation", "atrial fibrillation", 95.0, known) for known in (True, None, False)]
    assert knowledge.negated_findings_standing_out(negated[:1], []) == [("no AF", "atrial fibrillation")]
    assert knowledge.negated_findings_standing_out(negated[1:], []) == []
    assert "The finding itself stands out" in negation_words("no AF", "atrial fibrillation", 95.0, True)
    undetermined = negation_words("no AF", "atrial fibrillation", 95.0, None)
    assert "stands out:" not in undetermined and "cannot tell whether the model knows" in undetermined


# ----------------------------------------------------------------------------------------- reliability

def test_reliability_levels_are_one_rule_in_the_cli_and_the_dashboard():
    for auc, level in ((None, "not validated"), (float("nan"), "not validated"), (AUC_VALIDATED, "validated"),
                       (AUC_VALIDATED - 1e-9, "fair"), (AUC_FAIR, "fair"), (AUC_FAIR - 1e-9, "weak"), (0.3, "weak")):
        assert reliability_level(auc) == level
        assert reliability_label(auc).split(":")[0] == level
        css, words, _ = reliability(auc)
        assert words == reliability_label(auc)
        assert css == {"validated": "good", "not validated": "none"}.get(level, level)


def _info_model(tmp_path, knowledge_json: dict) -> Path:
    folder = write_cli_model(tmp_path / "base", ["sinus rhythm"])
    m = METS.from_pretrained(folder)
    return m.save_pretrained(tmp_path / "model", extra_files={"knowledge.json": json.dumps(knowledge_json)})


def test_info_says_none_for_a_missing_threshold_and_the_weak_cut_from_its_constant(tmp_path, capsys):
    validation = {"afib": {"auc": 0.95, "n_positive": 40, "n_windows": 400},
                  "sinus_rhythm": {"auc": AUC_FAIR - 0.05, "n_positive": 40, "n_windows": 400}}
    folder = _info_model(tmp_path, {"validation": validation, "reference": {"n_windows": 60, "twelve_lead": 0}})
    assert main(["info", "--model", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "known-phrase threshold none" in out
    assert f"weak (AUC < {AUC_FAIR:g}): " in out


# ------------------------------------------------------------------------------- the percentile as shown

# 89.5 and 89.6 are below the stands-out line: shown 89, never "90th" on a row that is not crowned (review 33)
@pytest.mark.parametrize("pct, shown", [(-3.0, 0), (0.4, 0), (72.6, 73), (89.5, 89), (89.6, 89), (90.0, 90),
                                        (99.6, 100), (104.0, 100)])
def test_a_percentile_is_shown_as_one_whole_number_everywhere(pct, shown):
    assert shown_percentile(pct) == shown
    row = to_row(Match("atrial fibrillation", 0.3, 0.5, percentile=pct, known=True))
    number, suffix = row.percentile_rank
    assert int(number) == shown and suffix == knowledge.ordinal_suffix(shown)
    assert row.percentile_words == f"higher than {shown}% of reference ECGs"
    assert f"({shown}{suffix} percentile" in negation_words("no AF", "atrial fibrillation", pct, True)


# ----------------------------------------------------------------------------------------- scored as

def test_what_a_prompt_was_scored_as_is_said_alike():
    from dashboard.panels.ranking import ranking_html
    members = tuple(f"statement {i}" for i in range(SCORED_AS_SHOWN + 3))
    words = scored_as_words("a class", members)
    assert words == "; ".join(members[:SCORED_AS_SHOWN]) + " +3 more"
    assert scored_as_words("LBBB", ("left bundle branch block",)) == "left bundle branch block"
    assert scored_as_words("Sinus rhythm", ("sinus rhythm",)) == "" and scored_as_words("x", ()) == ""
    html = ranking_html(build_view([Match("a class", 0.3, 1.0, percentile=50.0, known=True, expansion=members)]))
    assert f"scored as: {words}</div>" in html


# ------------------------------------------------------------------------------------- unit length

def test_l2_normalise_gives_unit_rows_and_keeps_a_zero_vector_zero():
    z = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    out = l2_normalise(z)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(l2_normalise(np.array([0.0, 2.0])), [0.0, 1.0])


# ----------------------------------------------------------------------------------- shared options

@pytest.mark.parametrize("command", ["rank", "retrieve", "embed"])
@pytest.mark.parametrize("option", ["--batch-size", "--workers"])
def test_batch_size_and_workers_below_one_are_refused_by_the_option_itself(command, option, capsys):
    extra = ["-p", "x"] if command == "rank" else ["--out", "e.npz"] if command == "embed" else []
    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit) as e:
            main([command, "x.hea", *extra, option, bad])
        assert e.value.code == 2
        assert f"{option} {bad}: give a whole number of at least 1" in capsys.readouterr().err
