"""What "stands out" meant on the validation ECGs: per statement, the share of those with it and of those without it
on which its prompt stood out (knowledge.json, written by `mets export`; `Knowledge.stood_out`), said on the
dashboard's reliability note, in `mets rank`'s table and --json, and in the model card's table."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.ranking import to_row
from mets_core.cli import main
from mets_core.knowledge import STANDS_OUT_PERCENTILE, stood_out_cell, stood_out_words
from mets_core.pipeline import METS
from mets_core.simulate import simulate_ecg
from mets_train.corpus.format import WINDOWS_FILE, write_windows
from mets_train.training.export import export_model
from mets_train.training.synthetic import write_synthetic_corpus

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "weights"


@pytest.fixture(scope="module")
def shipped():
    return METS.from_pretrained(SHIPPED)


def _validation(folder: Path) -> dict:
    return json.loads((folder / "knowledge.json").read_text(encoding="utf-8"))["validation"]


def test_the_shares_follow_the_crown_one_reference_ecg_in_ten_stands_out():
    # judged on every validation window, a prompt stands out on ~10 % of them (each window against the others of
    # its kind of lead set, at the 90th percentile): positives x share + negatives x share, over all windows
    rows = _validation(SHIPPED)
    n_reference = json.loads((SHIPPED / "knowledge.json").read_text(encoding="utf-8"))["reference"]["n_windows"]
    everywhere = {t: r for t, r in rows.items() if r["n_windows"] == n_reference}
    assert len(everywhere) >= 2, sorted(everywhere)          # bradycardia, tachycardia: judged on all 8 databases
    for target, r in everywhere.items():
        n_pos, n_neg = r["n_positive"], r["n_windows"] - r["n_positive"]
        share = (n_pos * r["stood_out_with"] + n_neg * r["stood_out_without"]) / r["n_windows"]
        assert abs(share - (100 - STANDS_OUT_PERCENTILE) / 100) < 0.02, (target, share)
    # and the shares are what the AUCs promise: a statement separated well stands out on more of those with it
    assert rows["paced_rhythm"]["stood_out_with"] > 0.9 > rows["paced_rhythm"]["stood_out_without"]
    assert rows["sinus_rhythm"]["stood_out_with"] < 0.5       # common: one ECG in ten cannot hold 693 of 2861


def test_a_match_carries_the_shares_of_what_it_was_scored_as(shipped):
    ecg = simulate_ecg(duration_s=10, heart_rate=55, seed=3)
    by_prompt = {m.prompt: m for m in shipped.rank(ecg, ["sinus bradycardia", "paced rhythm", "atrial flutter",
                                                          "banana split"])}
    rows = _validation(SHIPPED)
    paced = by_prompt["paced rhythm"]
    assert paced.stood_out == pytest.approx((rows["paced_rhythm"]["stood_out_with"],
                                             rows["paced_rhythm"]["stood_out_without"]))
    assert by_prompt["atrial flutter"].stood_out is None      # 6 validation ECGs with it: not validated, no shares
    assert by_prompt["banana split"].stood_out is None        # not known to the model
    # the dashboard's reliability note ends with them, in words
    note = to_row(paced).reliability[2]
    assert note.endswith(stood_out_words(paced.stood_out))
    assert "stood out on 100% of those with it and 10% of those without it" in note


def test_share_words_never_round_a_few_to_none():
    assert stood_out_words((0.36, 0.004)) == ("On validation ECGs it stood out on 36% of those with it and under 1% "
                                              "of those without it.")
    assert stood_out_cell((0.36, 0.0)) == "36% / 0%" and stood_out_cell(None) == "-"
    assert stood_out_words(None) == ""


def test_mets_rank_prints_and_writes_them(tmp_path, capsys):
    ecg_file = tmp_path / "ecg.csv"
    ecg = simulate_ecg(duration_s=10, heart_rate=55, seed=3)
    ecg_file.write_text("\n".join([",".join(ecg.leads)] + [",".join(f"{v:.4f}" for v in row)
                                                           for row in ecg.signal[ecg.lead_mask].T]), encoding="utf-8")
    args = ["rank", str(ecg_file), "--fs", str(int(ecg.fs)), "-p", "paced rhythm", "-p", "atrial flutter"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "stood out: with / without" in out
    paced = next(line for line in out.splitlines() if line.strip().startswith("paced rhythm"))
    assert "100% / 10%" in paced
    flutter = next(line for line in out.splitlines() if line.strip().startswith("atrial flutter"))
    assert "%" not in flutter.split("not validated")[1].split()[0]
    assert main(args + ["--json"]) == 0
    matches = json.loads(capsys.readouterr().out)[0]["matches"]
    got = {m["prompt"]: m.get("stood_out") for m in matches}
    assert got["paced rhythm"][0] == pytest.approx(1.0) and got["atrial flutter"] is None


# the synthetic corpus's statement ids, as statements.json names them (export judges those the knowledge knows)
VOCABULARY_IDS = {"NSR": "sinus_rhythm", "SBRAD": "sinus_bradycardia", "STACH": "sinus_tachycardia", "AFIB": "afib",
                  "PVC": "pvc", "LBBB": "lbbb", "NOISE": "noise"}


def _with_vocabulary_ids(corpus: Path) -> Path:
    with open(corpus / WINDOWS_FILE, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["statements"] = ";".join(VOCABULARY_IDS[s] for s in row["statements"].split(";") if s)
    write_windows(corpus, rows)
    return corpus


def test_export_writes_them_and_the_script_recomputes_them_from_the_reference(tmp_path):
    model = METS.random_init({"model": {"width": 8}}, seed=0)
    model.save_pretrained(tmp_path / "run" / "best")
    corpus = _with_vocabulary_ids(write_synthetic_corpus(tmp_path / "corpus", n_patients=40, windows_per_patient=3))
    out = export_model(tmp_path / "run", corpus, tmp_path / "weights")
    rows = _validation(out)
    assert rows and all(0 <= r["stood_out_with"] <= 1 for r in rows.values())
    assert all(r["stood_out_without"] is None or 0 <= r["stood_out_without"] <= 1 for r in rows.values())
    # scripts/stood_out.py (for weights exported before the shares existed) gives the export's shares from the
    # weights' own reference embeddings, after checking the AUCs come out as stored
    done = subprocess.run([sys.executable, "scripts/stood_out.py", "--weights", str(out), "--corpus", str(corpus)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for target, r in rows.items():
        line = next(x for x in done.stdout.splitlines() if x.split(" AUC ")[0].strip() == target)
        assert line.rstrip().endswith(stood_out_cell((r["stood_out_with"], r["stood_out_without"]))), line
    # a corpus the weights were not exported with is refused in words
    other = write_synthetic_corpus(tmp_path / "other", n_patients=20, windows_per_patient=3)
    done = subprocess.run([sys.executable, "scripts/stood_out.py", "--weights", str(out), "--corpus", str(other)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "give the corpus these weights were exported with" in done.stderr


def test_the_card_table_is_the_scripts_output():
    card = (SHIPPED / "MODEL_CARD.md").read_text(encoding="utf-8")
    printed = subprocess.run([sys.executable, "scripts/card_tables.py", "--weights", str(SHIPPED)], cwd=REPO,
                             capture_output=True, text=True, timeout=120).stdout
    table = printed[printed.index("| statement or class |"):].split("\n\n")[0].strip()
    assert table in card


def test_a_crowned_row_says_in_sight_what_its_crown_meant(shipped):
    from dashboard.panels.ranking import ranking_html
    from dashboard.ranking import build_view
    ecg = simulate_ecg(duration_s=10, heart_rate=55, seed=3)
    prompts = ["sinus bradycardia", "paced rhythm", "atrial fibrillation"]
    matches = shipped.rank(ecg, prompts)
    view = build_view(matches, prompts)
    html = ranking_html(view)
    crowned = [r for r in view.rows if r.stands_out and r.stood_out]
    assert crowned, [(r.prompt, r.percentile) for r in view.rows]     # this simulated sinus ECG at 55 bpm
    for r in view.rows:
        row = html.split(f'data-prompt="{r.prompt}"')[1].split('data-testid="mets-rank-row"')[0]
        assert ('data-testid="mets-stood-out"' in row) == (r in crowned), r.prompt
        if r in crowned:
            assert stood_out_words(r.stood_out) in row
