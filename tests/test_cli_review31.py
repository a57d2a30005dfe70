"""Review 31 of the command line: no tracebacks on a closed pipe or Ctrl-C (and no reader process left behind),
rank's three outputs saying the same things, evaluate's warnings (windows the model trained on; folds with
nothing to score), folders a failed start leaves, and messages in the user's words."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mets_core.cli import main

REPO = Path(__file__).resolve().parent.parent
METS = [sys.executable, "-m", "mets_core.cli"]


def _data() -> Path:
    folder = os.environ.get("METS_DATA_DIR")
    if not folder or not (Path(folder) / "ludb" / "data").is_dir():
        pytest.skip("set METS_DATA_DIR to the PhysioNet data folder (ludb/ needed)")
    return Path(folder)


# ------------------------------------------------------------------------------ pipes and interrupts

def test_a_closed_pipe_ends_quietly_without_a_traceback():
    p = subprocess.Popen([*METS, "info"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()                 # the reader went away before the first line (`mets info | head -0`)
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def _group_left(pgid: int, seconds: float = 10.0) -> list[str]:
    """Processes still in the process group after up to `seconds` (the fork server and resource tracker exit
    when the parent has gone)."""
    end = time.time() + seconds
    while True:
        left = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
        if not left or time.time() > end:
            return left
        time.sleep(0.2)


@pytest.mark.parametrize("when", ["while reading", "before the model has loaded"])
def test_ctrl_c_says_what_was_kept_ends_the_readers_and_exits_130(tmp_path, when):
    out = tmp_path / "ranks.csv"
    p = subprocess.Popen([*METS, "rank", str(_data() / "ludb" / "data"), "-p", "sinus rhythm", "--out", str(out),
                          "--batch-size", "4", "--workers", "2", "--no-progress"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    start = time.time()
    if when == "while reading":
        while time.time() - start < 120 and not (out.is_file() and len(out.read_text().splitlines()) > 3):
            time.sleep(0.1)
    else:
        time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)          # Ctrl-C: the whole process group, the reader processes too
    try:
        stdout, stderr = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("mets rank hung after Ctrl-C")
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    [line] = stderr.strip().splitlines()
    if when == "while reading":
        written = len(list(csv.DictReader(out.open()))) if out.is_file() else 0
        assert written >= 3
        assert line == f"mets: interrupted; {written} records written to {out}; rerun the same command with " \
                       f"--resume to score the rest"
    else:
        assert line.startswith("mets: interrupted")
    assert _group_left(p.pid) == []


# ------------------------------------------------------------------------------ rank: one story in three formats

def test_rank_json_csv_and_table_say_the_same_of_known_negated_and_unknown_prompts(tmp_path, capsys):
    record = str(_data() / "ludb" / "data" / "1")
    prompts = ["-p", "sinus rhythm", "-p", "banana", "-p", "no atrial fibrillation"]
    assert main(["rank", record, *prompts, "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    out = tmp_path / "r.csv"
    assert main(["rank", record, *prompts, "--out", str(out)]) == 0
    capsys.readouterr()
    [row] = list(csv.DictReader(out.open()))
    assert main(["rank", record, *prompts]) == 0
    table = capsys.readouterr().out

    # what stands out: the same words in JSON and CSV, and the table's headline says it too
    assert r["stands_out"] == row["stands_out"] and r["stands_out"]
    headline = "no confident match" if r["stands_out"] == "no confident match" else \
        "stands out: " + r["stands_out"].replace("; ", ", ")
    assert headline in table
    # a phrase the model does not know: listed apart, no number anywhere
    assert r["not_known"] == [{"prompt": "banana", "known": False}]
    assert row["not_known"] == "banana" and "not known to the model (not ranked): banana" in table
    assert all(row[f"{c}[banana]"] == "" for c in ("similarity", "probability", "percentile"))
    # a negated phrase: the finding's similarity and percentile (as the table says), no probability
    [neg] = r["negated"]
    assert float(row["similarity[no atrial fibrillation]"]) == pytest.approx(neg["similarity"], abs=1e-6)
    assert float(row["percentile[no atrial fibrillation]"]) == pytest.approx(neg["percentile"], abs=0.01)
    assert row["probability[no atrial fibrillation]"] == ""
    assert f"({round(neg['percentile'])}th percentile" in table or f"({round(neg['percentile'])}" in table


def test_records_that_match_no_file_come_first_in_json_and_in_the_csv_alike(tmp_path, capsys):
    record = str(_data() / "ludb" / "data" / "2")
    missing = str(tmp_path / "nope.hea")
    args = ["rank", record, missing, "-p", "sinus rhythm"]
    assert main([*args, "--json"]) == 1
    order_json = [r["record"] for r in json.loads(capsys.readouterr().out)]
    out = tmp_path / "r.csv"
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert [r["record"] for r in csv.DictReader(out.open())] == order_json == [missing, record]
    assert "2 records (1 error) written" in err            # plurals as counted


# ------------------------------------------------------------------------------ evaluate

def test_evaluate_refuses_folds_ptbxl_does_not_have(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--protocol", "mets", "--data-dir", "x", "--folds", "11"])
    assert stop.value.code == 2
    assert "11: PTB-XL's folds are 1-10 (9 validation, 10 test)" in capsys.readouterr().err


def test_evaluate_says_when_nothing_of_the_test_fold_can_be_scored(capsys):
    data = _data()
    if not (data / "ptbxl" / "ptbxl_database.csv").is_file():
        pytest.skip("no ptbxl/ in METS_DATA_DIR")
    rc = main(["evaluate", "--protocol", "mets", "--data-dir", str(data)])
    captured = capsys.readouterr()
    assert rc == 1 and captured.out == ""
    assert "nothing can be scored; pass --folds 9 (the validation fold)" in captured.err
    assert "of fold 10" in captured.err or "no fold-10 signals" in captured.err


def _build(data: Path, out: Path, seed: int) -> Path:
    assert main(["corpus", "build", "--data-dir", str(data), "--out", str(out), "--sources", "ludb",
                 "--max-records", "60", "--seed", str(seed), "--quiet"]) == 0
    return out


def _split(corpus: Path) -> dict[str, str]:
    return {r["record"]: r["split"] for r in csv.DictReader((corpus / "windows.csv").open())}


def test_evaluate_counts_the_validation_windows_the_model_trained_on(tmp_path, capsys):
    data = _data()
    pretraining = _build(data, tmp_path / "pretraining", seed=0)
    other = _build(data, tmp_path / "other", seed=7)
    theirs, ours = _split(pretraining), _split(other)
    trained = sorted(r for r, side in ours.items() if side == "val" and theirs.get(r) == "train")
    assert trained, "the two seeds should split LUDB's patients differently"
    n_val = sum(side == "val" for side in ours.values())
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--corpus", str(other), "--pretraining-corpus", str(pretraining),
                 "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: the model trained on {len(trained)} of these {n_val} val windows (ludb {len(trained)}" in err
    said = json.loads(out.read_text())["model"]["pretraining"]
    assert said["trained_on"] == len(trained) and said["windows"] == n_val and "warning" in said
    # its own corpus: nothing to warn about
    assert main(["evaluate", "--corpus", str(pretraining), "--pretraining-corpus", str(pretraining),
                 "--json", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads(out.read_text())["model"]["pretraining"]["trained_on"] == 0


def test_evaluate_says_when_it_cannot_tell_which_windows_the_model_trained_on(tmp_path, capsys):
    other = _build(_data(), tmp_path / "other", seed=7)
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--corpus", str(other), "--pretraining-corpus", str(tmp_path / "absent"),
                 "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "val windows the model trained on is not known" in err and "--pretraining-corpus DIR" in err
    assert json.loads(out.read_text())["model"]["pretraining"]["trained_on"] is None


# ------------------------------------------------------------------------------ train

def test_train_closing_line_counts_epochs_from_1_and_names_what_chose_best():
    from mets_train.commands.train import best_words
    words = best_words({"score": 0.8353854880430105, "epoch": 2, "macro_auc": 0.8797636181051502,
                        "sets": {"open": 0.8969497113566155, "ptbxl_superclass": 0.8434793584755009}})
    assert words == ("best/ is epoch 3, selection score 0.835 (the mean validation macro AUC of the label sets "
                     "open 0.897, ptbxl_superclass 0.843)")


def test_a_training_that_cannot_start_leaves_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train"]) == 2                                   # no corpus at the default ./corpus
    (tmp_path / "empty").mkdir()
    assert main(["train", "--corpus", "empty", "--out", "run_x"]) == 2
    assert "is not a corpus folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


# ------------------------------------------------------------------------------ messages

def test_export_checks_card_and_out_before_it_starts(tmp_path, capsys):
    base = ["export", "--run", str(tmp_path / "run"), "--corpus", str(tmp_path / "corpus")]
    assert main([*base, "--out", str(tmp_path / "new"), "--card", str(tmp_path / "nope.md")]) == 2
    err = capsys.readouterr().err
    assert f"--card {tmp_path / 'nope.md'}: no such file" in err and "Errno" not in err
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    assert main([*base, "--out", str(tmp_path / "model")]) == 2
    assert "pass --overwrite to replace" in capsys.readouterr().err
    assert (tmp_path / "model" / "config.json").read_text() == "{}"


def test_corpus_alone_and_a_data_dir_one_level_too_deep_say_what_to_do(tmp_path, capsys):
    assert main(["corpus"]) == 2
    assert "mets corpus: choose one of: build" in capsys.readouterr().err
    data = _data()
    assert main(["corpus", "build", "--data-dir", str(data / "ludb"), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert f"point --data-dir at the folder holding ludb/, mitdb/, ...: --data-dir {data}" in err
    assert not (tmp_path / "c").exists()


def test_info_names_weak_statements_as_the_card_does(capsys):
    assert main(["info"]) == 0
    weak = next(line for line in capsys.readouterr().out.splitlines() if "weak (AUC" in line)
    card = (REPO / "weights" / "MODEL_CARD.md").read_text(encoding="utf-8")
    for internal, plain in (("abnormal_qrs", "abnormal QRS"), ("ivcd", "non-specific intraventricular conduction "
                                                                       "delay"), ("q_waves", "Q waves present")):
        assert internal not in weak and plain in weak and plain in card


def test_retrieve_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["retrieve", "--help"])
    assert "reports of the model's report index" in capsys.readouterr().out.replace("\n", " ")


def test_rank_says_what_the_dashboard_says_of_rivals_and_measurements(tmp_path, capsys):
    """`mets rank` with the shipped weights: on PTB-DB s0010_re (sinus, infarction; 38 s) "paced rhythm" stands
    out and so do the bundle branch blocks, scored though not typed: the model does not tell them apart; on
    PTB-XL 00761 (atrial fibrillation, 120 bpm) "sinus tachycardia" stands out against an irregular rhythm
    without P waves. Printed, and in --json and --out alike."""
    from helpers import require_data
    data = require_data("ptbdb/s0010_re.hea", "ptbxl/records100/00000/00761_lr.hea")
    records = [str(data / "ptbdb" / "s0010_re"), str(data / "ptbxl" / "records100" / "00000" / "00761_lr")]
    flags = ["-p", "paced rhythm", "-p", "sinus rhythm", "-p", "sinus tachycardia", "-p", "atrial fibrillation"]
    out = tmp_path / "ranked.csv"
    assert main(["rank", *records, *flags, "--out", str(out)]) == 0
    rows = {r["record"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    rivals = rows[records[0]]["not_told_apart"]
    assert rivals.startswith("“paced rhythm” stands out, but so do") and "bundle branch block" in rivals
    assert "irregular rhythm without consistent P waves" in rows[records[1]]["measurement_check"]
    assert rows[records[0]]["measurement_check"] == ""
    capsys.readouterr()
    assert main(["rank", *records, *flags, "--json"]) == 0
    printed = {r["record"]: r for r in json.loads(capsys.readouterr().out)}
    assert " ".join(printed[records[0]]["not_told_apart"]) == rivals
    assert " ".join(printed[records[1]]["measurement_check"]) == rows[records[1]]["measurement_check"]


def test_an_interrupted_mets_process_ends_itself_whatever_threads_are_left():
    """Python's own exit waits on every non-daemon thread, and a reader pool's thread can wait for ever on a
    reader terminated mid-record (seen under load about once in four interrupts). The `mets` process (main()
    without argv) therefore ends itself once it has said what it kept. Review 32 found that rule never applied:
    main() replaced its argv before asking whether it was None. Here a thread that would hold Python's exit for
    ten minutes stands in for the stuck pool thread, deterministically."""
    script = ("import sys, threading, time\n"
              "import mets_core.commands.info as info\n"
              "def interrupted(args):\n"
              "    raise KeyboardInterrupt\n"
              "info.cmd_info = interrupted\n"
              "threading.Thread(target=time.sleep, args=(600,)).start()\n"
              "from mets_core.cli import main\n"
              "sys.argv = ['mets', 'info']\n"
              "sys.exit(main())\n")
    # a process that waited on that thread would outlive the timeout: TimeoutExpired, the test fails
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and done.stderr.strip() == "mets: interrupted", done.stderr
