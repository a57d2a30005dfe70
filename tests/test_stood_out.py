"""What "stands out" meant for the validation patients: per statement and kind of lead set, the share of the patients
with it and of those without it for whom its prompt stood out, each patient counted once (knowledge.json, written
by `mets export`; `Knowledge.stood_out`), said under a crowned phrase and in the reliability note on the dashboard,
in `mets rank`'s table and --json, and in the model card's table."""
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard.ranking import to_row
from mets_core.cli import main
from mets_core.knowledge import STOOD_OUT_HEADER, StoodOut, stood_out_cell, stood_out_words
from mets_core.pipeline import METS
from mets_core.simulate import simulate_ecg
from mets_train.corpus.format import WINDOWS_FILE, write_windows
from mets_train.training.calibrate import stood_out_matrix, stood_out_shares
from mets_train.training.export import export_model
from mets_train.training.synthetic import write_synthetic_corpus

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "weights"


@pytest.fixture(scope="module")
def shipped():
    return METS.from_pretrained(SHIPPED)


def _validation(folder: Path) -> dict:
    return json.loads((folder / "knowledge.json").read_text(encoding="utf-8"))["validation"]


def test_each_patient_counts_once_and_few_patients_give_no_shares():
    # 10 patients with the statement: P0 has three windows, two of them crowned (2/3); P1-P9 one window, P1 crowned
    patients = np.array(["P0"] * 3 + [f"P{k}" for k in range(1, 10)] + [f"N{k}" for k in range(10)])
    truth = np.array([True] * 12 + [False] * 10)
    crowned = np.array([True, True, False, False, True] + [False] * 7 + [True] + [False] * 9)
    shares = stood_out_shares(crowned, truth, patients)
    assert shares["patients_with"] == 10 and shares["patients_without"] == 10
    assert shares["with"] == pytest.approx((2 / 3 + 1) / 10)       # windows would say 3 of 12
    assert shares["without"] == pytest.approx(1 / 10)
    assert stood_out_shares(crowned[1:], truth[1:], patients[1:]) is not None
    assert stood_out_shares(crowned[3:], truth[3:], patients[3:]) is None      # 9 patients with it: not shown


def test_a_window_is_judged_among_other_patients_of_its_kind():
    # 60 12-lead windows, the top ten of one patient; and 60 2-lead windows scoring higher than all of them
    sims = np.concatenate([np.arange(60) / 60, 1 + np.arange(60) / 60])[:, None].astype(np.float32)
    n_leads = np.array([12] * 60 + [2] * 60)
    patients = np.array([f"a{k}" for k in range(50)] + ["holter"] * 10 + [f"b{k}" for k in range(60)])
    crowned = stood_out_matrix(sims, n_leads, patients)[:, 0]
    # the patient's lowest window is above every other patient's 12-lead window: crowned (with its own nine
    # windows in its reference it would be at the 85th percentile); the 2-lead windows do not count against it
    assert crowned[50] and crowned[50:60].all()
    assert not crowned[:50].any()
    assert crowned[60:].sum() == 6            # the 2-lead windows among themselves: the top six of 60 (>= 90th)


def test_a_match_carries_the_shares_of_its_kind_of_lead_set(shipped):
    rows = _validation(SHIPPED)
    twelve = simulate_ecg(duration_s=10, heart_rate=55, seed=3)
    two = simulate_ecg(duration_s=10, heart_rate=55, seed=3, leads=("II", "V1"))
    prompts = ["sinus bradycardia", "paced rhythm", "atrial flutter", "banana split"]
    by_prompt = {m.prompt: m for m in shipped.rank(twelve, prompts)}
    expected = rows["sinus_bradycardia"]["stood_out"]["12-lead"]
    got = by_prompt["sinus bradycardia"].stood_out
    assert (got.kind, got.with_it, got.patients_with, got.patients_without) == (
        "12-lead", pytest.approx(expected["with"]), expected["patients_with"], expected["patients_without"])
    assert by_prompt["paced rhythm"].stood_out is None         # 122 windows, 5 patients: too few to say
    assert by_prompt["atrial flutter"].stood_out is None and by_prompt["banana split"].stood_out is None
    # a 2-lead ECG gets the fewer-lead shares (atrial fibrillation has both kinds; sinus bradycardia only 12-lead)
    on_two = {m.prompt: m.stood_out for m in shipped.rank(two, ["atrial fibrillation", "sinus bradycardia"])}
    fewer = rows["afib"]["stood_out"]["fewer leads"]
    assert (on_two["atrial fibrillation"].kind, on_two["atrial fibrillation"].patients_with) == (
        "fewer leads", fewer["patients_with"])
    assert "fewer leads" not in rows["sinus_bradycardia"]["stood_out"] and on_two["sinus bradycardia"] is None
    # the dashboard's reliability note ends with them, in words, naming the finding
    note = to_row(by_prompt["sinus bradycardia"]).reliability[2]
    assert note.endswith(stood_out_words(got, "sinus bradycardia"))
    assert f"stood out for {round(100 * got.with_it)}% of {got.patients_with} patients with sinus bradycardia" in note


def test_share_words_never_round_to_never_or_always():
    some = StoodOut(0.996, 0.004, 12, 300, "12-lead")
    assert stood_out_words(some, "X") == ("On 12-lead validation ECGs it stood out for over 99% of 12 patients with X "
                                          "and for under 1% of 300 patients without it.")
    assert stood_out_cell(StoodOut(1.0, 0.0, 10, 10, "12-lead")) == "100% of 10 / 0% of 10"
    assert stood_out_cell(None) == "-" and stood_out_words(None, "X") == ""


def test_mets_rank_prints_and_writes_them(tmp_path, capsys):
    ecg_file = tmp_path / "ecg.csv"
    ecg = simulate_ecg(duration_s=10, heart_rate=55, seed=3)
    ecg_file.write_text("\n".join([",".join(ecg.leads)] + [",".join(f"{v:.4f}" for v in row)
                                                           for row in ecg.signal[ecg.lead_mask].T]), encoding="utf-8")
    args = ["rank", str(ecg_file), "--fs", str(int(ecg.fs)), "-p", "sinus bradycardia", "-p", "paced rhythm"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert STOOD_OUT_HEADER in out
    shares = _validation(SHIPPED)["sinus_bradycardia"]["stood_out"]["12-lead"]
    brady = next(line for line in out.splitlines() if line.strip().startswith("sinus bradycardia"))
    assert f"of {shares['patients_with']} / " in brady and f"of {shares['patients_without']}" in brady
    paced = next(line for line in out.splitlines() if line.strip().startswith("paced rhythm"))
    assert " of " not in paced
    assert main(args + ["--json"]) == 0
    matches = {m["prompt"]: m for m in json.loads(capsys.readouterr().out)[0]["matches"]}
    assert matches["sinus bradycardia"]["stood_out"]["patients_with"] == shares["patients_with"]
    assert "stood_out" not in matches["paced rhythm"]


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
    corpus = _with_vocabulary_ids(write_synthetic_corpus(tmp_path / "corpus", n_patients=200, windows_per_patient=2,
                                                         val_fraction=0.5))
    out = export_model(tmp_path / "run", corpus, tmp_path / "weights")
    rows = _validation(out)
    assert rows and all(set(r["stood_out"]) <= {"12-lead", "fewer leads"} for r in rows.values())
    written = [(target, kind, v) for target, r in rows.items() for kind, v in r["stood_out"].items()]
    assert written, "100 synthetic validation patients: some statements have 10 with them and 10 without"
    # scripts/stood_out.py (for weights exported before the shares existed) gives the export's shares from the
    # weights' own reference embeddings, after checking the AUCs come out as stored
    done = subprocess.run([sys.executable, "scripts/stood_out.py", "--weights", str(out), "--corpus", str(corpus)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for target, kind, shares in written:
        line = next(x for x in done.stdout.splitlines() if x.split(" AUC ")[0].strip() == target)
        # the same patients; the shares within a window or two (float16 reference embeddings against float32
        # ones move a crown that sits right at the 90th percentile)
        said = re.search(re.escape(kind) + r" (?:under |over )?(\d+)% of (\d+) / (?:under |over )?(\d+)% of (\d+)", line)
        assert said, line
        with_it, n_with, without_it, n_without = (int(v) for v in said.groups())
        assert (n_with, n_without) == (shares["patients_with"], shares["patients_without"])
        assert abs(with_it - 100 * shares["with"]) <= 3 and abs(without_it - 100 * shares["without"]) <= 3, line
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
    from dashboard.panels.common import esc
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
            assert esc(stood_out_words(r.stood_out, r.statement or r.prompt)) in row


def test_an_auc_of_few_patients_is_not_shown_as_validated(shipped):
    from mets_core.knowledge import is_validated
    row = {"auc": 0.99, "n_positive": 122, "n_windows": 1850}
    assert is_validated(row)                                           # counted in windows only (older weights)
    assert not is_validated({**row, "patients_positive": 5, "patients_negative": 355})
    assert is_validated({**row, "patients_positive": 10, "patients_negative": 10})
    # the shipped weights: paced rhythm's 122 positive windows are 5 patients (MIT-BIH 102 twice, as QTDB sel102)
    paced = _validation(SHIPPED)["paced_rhythm"]
    assert paced["n_positive"] >= 100 and paced["patients_positive"] < 10
    [match] = shipped.rank(simulate_ecg(duration_s=10, heart_rate=70, seed=1), ["paced rhythm"])
    assert match.validation_auc is None
    assert to_row(match).reliability[1] == "not validated"
