"""An ECG shorter than knowledge.MIN_REFERENCE_S gets no percentiles and nothing called a match, and the page and
`mets rank` say why (a hostile-input review: a 1-s ECG was ranked with "validated: AUC 0.82" and crowns; on
validation ECGs cut short, what stands out is right less often: benchmarks/short_ecg.py)."""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

from dashboard_fixtures import REPO, go_to, markdown_html, table, upload
from mets_core.ecg import STANDARD_LEADS
from mets_core.knowledge import MIN_REFERENCE_S, too_short_reading, too_short_words
from mets_core.simulate import simulate_ecg

SHIPPED = REPO / "weights"
PHRASES = ["sinus rhythm", "atrial fibrillation", "left bundle branch block", "sinus tachycardia"]


@pytest.fixture(scope="module")
def shipped():
    from mets_core import METS
    if not (SHIPPED / "reference.safetensors").is_file():
        pytest.skip("weights/ ships no reference ECGs")
    return METS.from_pretrained(SHIPPED)


def _cut(ecg, seconds: float):
    from mets_core.ecg import ECG
    n = int(round(seconds * ecg.fs))
    return ECG(signal=ecg.signal[:, :n], fs=ecg.fs, lead_mask=ecg.lead_mask, name=f"{seconds:g} s")


def test_percentiles_only_from_the_reference_length_on(shipped):
    ecg = simulate_ecg(duration_s=10, fs=500, heart_rate=110, seed=3)
    for seconds in (10.0, MIN_REFERENCE_S):
        assert all(m.percentile is not None for m in shipped.rank(_cut(ecg, seconds), PHRASES))
    short = shipped.rank(_cut(ecg, MIN_REFERENCE_S - 0.5), PHRASES)
    assert all(m.percentile is None and not m.stands_out for m in short)
    # the similarities are still given: they compare the phrases with each other
    assert all(np.isfinite(m.similarity) for m in short) and any(m.probability for m in short)


def test_the_view_says_why_nothing_is_called_a_match(shipped):
    from dashboard.ranking import build_view, short_length
    ecg = _cut(simulate_ecg(duration_s=10, fs=500, seed=1), 2.5)
    view = build_view(shipped.rank(ecg, PHRASES), PHRASES, short_length(shipped, ecg))
    assert view.headline.startswith("This ECG is 2.5 s long.") and "no phrase is called a match" in view.headline
    assert view.reading == "not judged: an ECG of 2.5 s is too short for percentiles (they need 9 s)"
    assert not view.standing_out
    full = simulate_ecg(duration_s=10, fs=500, seed=1)
    assert short_length(shipped, full) is None
    assert "s long" not in build_view(shipped.rank(full, PHRASES), PHRASES, short_length(shipped, full)).headline


def test_a_length_just_under_the_limit_never_reads_as_the_limit():
    assert too_short_words(8.96).startswith("This ECG is 8.9 s long.")
    assert too_short_reading(8.96).startswith("not judged: an ECG of 8.9 s")


def test_weights_without_reference_ecgs_do_not_talk_of_reference_percentiles(weights):
    """A short ECG ranked by weights that carry no reference ECGs: their own headline, not the short ECG's."""
    from dashboard.ranking import build_view, short_length
    from mets_core import METS
    model = METS.from_pretrained(weights)
    assert model.reference is None
    ecg = _cut(simulate_ecg(duration_s=10, fs=500, seed=1), 2.5)
    assert short_length(model, ecg) is None
    view = build_view(model.rank(ecg, PHRASES), PHRASES, short_length(model, ecg))
    assert "no reference population" in view.headline and "s long" not in view.headline


def _csv(ecg) -> bytes:
    lines = [f"# fs={ecg.fs:g}", ",".join(STANDARD_LEADS)]
    lines += [",".join(f"{v:.4f}" for v in column) for column in ecg.signal.T]
    return ("\n".join(lines) + "\n").encode()


def test_the_reader_headline_for_a_short_upload(shipped_app):
    short = _cut(simulate_ecg(duration_s=10, fs=250, seed=2), 4.0)
    upload(shipped_app, [("short.csv", _csv(short))])
    headline = re.search(r'data-testid="mets-headline">([^<]*)<', markdown_html(shipped_app)).group(1)
    assert html.unescape(headline).startswith("This ECG is 4.0 s long.")


def test_mets_rank_says_it_and_leaves_the_crown_empty(shipped, tmp_path, capsys):
    from mets_core.cli import main
    short = _cut(simulate_ecg(duration_s=10, fs=250, seed=2), 4.0)
    (tmp_path / "short.csv").write_bytes(_csv(short))
    args = ["rank", str(tmp_path / "short.csv"), *[a for p in PHRASES for a in ("-p", p)], "--model", str(SHIPPED)]
    assert main(args) == 0
    assert "This ECG is 4.0 s long." in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "out.jsonl")]) == 0
    [row] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert row["stands_out"] == "not judged: an ECG of 4.0 s is too short for percentiles (they need 9 s)"
    assert not any(key.startswith("percentile[") and value not in (None, "") for key, value in row.items())


def test_batch_leaves_a_short_ecgs_phrase_cells_empty(shipped_app):
    """A column of percentiles must not hold a short ECG's similarities (0.23 beside 87.3, sorted as a 0th
    percentile): its cells stay empty and its reading says why."""
    full = simulate_ecg(duration_s=10, fs=250, seed=2)
    upload(shipped_app, [("full.csv", _csv(full))])
    upload(shipped_app, [("short.csv", _csv(_cut(full, 4.0)))])
    shipped_app.text_area(key="prompts_text").input("\n".join(PHRASES)).run()
    go_to(shipped_app, "batch")
    rows = table(shipped_app).set_index("ECG")
    assert rows.loc["short", PHRASES].isna().all() and rows.loc["full", PHRASES].notna().all()
    assert rows.loc["short"].filter(like="reading").iloc[0].startswith("not judged: an ECG of 4.0 s")
