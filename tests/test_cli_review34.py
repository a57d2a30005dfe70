"""Review 34 of the command line, used as a researcher would on a mixed folder of the open databases (LUDB,
PTB-XL, CinC 2017, MIT-BIH, a broken header, a text file). Each reproduced; each test fails on the code
before: `mets retrieve --out` wrote a record that could not be read as having an empty hit list ("[]") in
.csv/.parquet and an answered record's error as null in .jsonl (rank writes ""); `mets evaluate --json FILE`
in a folder that does not exist ran the whole evaluation and then ended in a traceback; an argument a command
does not take (`mets info weights/`) was refused with the usage of `mets` instead of the command's; a CSV
whose header holds no lead name pointed a command-line user at a Python name (mets_core.ecg.LEAD_ALIASES);
`mets embed` said "1 records failed"; `mets rank --kind` with a typo was said only after the records were read
and the model loaded; a --prompts-file of comments only was answered "rank needs prompts"; a WFDB record named
as 'rec1' and as 'rec1.hea' (a list file, then its folder) was scored twice, and --resume scored it again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import write_cli_model
from hospital_files import muse_xml, synthetic_12lead
from mets_core.cli import main

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli_review34") / "model", ["sinus rhythm.", "atrial fibrillation"])


@pytest.fixture()
def good_and_broken(tmp_path) -> list[str]:
    sig = synthetic_12lead(seconds=10, fs=500, seed=0, hr=70)
    good = tmp_path / "ecg0.xml"
    good.write_bytes(muse_xml({k: sig[k] for k in EIGHT}))
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<RestingECG><Waveform>")
    return [str(good), str(broken)]


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        import csv
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    import pandas as pd
    return pd.read_parquet(path).to_dict("records")


def _empty(value) -> bool:
    """No value: an empty CSV cell, null in JSON, null (NaN) in Parquet."""
    return value is None or value == "" or (isinstance(value, float) and value != value)


# ------------------------------------------------------------------ retrieve --out: one meaning in every format

@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_retrieve_rows_of_answered_and_unread_records_say_the_same_in_every_format(model_dir, good_and_broken,
                                                                                   tmp_path, capsys, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"hits{suffix}"
    assert main(["retrieve", *good_and_broken, "-k", "2", "--model", str(model_dir), "--out", str(out),
                 "--no-progress", "--workers", "1"]) == 1
    capsys.readouterr()
    answered, unread = _rows(out)
    assert answered["record"] == good_and_broken[0] and unread["record"] == good_and_broken[1]
    # an answered record: no error, as rank writes it ("" in every format, not null in .jsonl)
    assert answered["error"] == ""
    hits = answered["reports"] if suffix == ".jsonl" else json.loads(answered["reports"])
    assert len(hits) == 2
    # a record that could not be read has no hits at all, not an empty list of them
    assert unread["error"] and _empty(unread["reports"])


def test_retrieve_resume_keeps_the_answered_rows_and_tries_the_unread_one_again(model_dir, good_and_broken, tmp_path,
                                                                                capsys):
    out = tmp_path / "hits.csv"
    common = [*good_and_broken, "--model", str(model_dir), "--out", str(out), "--no-progress", "--workers", "1"]
    assert main(["retrieve", *common]) == 1
    first = _rows(out)
    assert main(["retrieve", *common, "--resume"]) == 1
    assert "1 record written as errors before, tried again" in capsys.readouterr().err
    again = _rows(out)
    assert again[0] == first[0] and len(again) == 2 and again[1]["error"] and again[1]["reports"] == ""


# ------------------------------------------------------------------ evaluate --json FILE checked before the run

def test_evaluate_json_file_in_a_missing_folder_is_refused_before_anything_runs(tmp_path, capsys):
    target = tmp_path / "results" / "eval.json"
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--protocol", "mitbih", "--data-dir", str(tmp_path), "--json", str(target)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "usage: mets evaluate" in err
    assert f"{target}: the folder {target.parent} does not exist; create it or write the file elsewhere" in err
    assert not target.parent.exists()


def test_evaluate_json_naming_a_folder_says_to_name_a_file_in_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--protocol", "mitbih", "--data-dir", str(tmp_path), "--json", str(tmp_path)])
    assert stop.value.code == 2
    assert f"{tmp_path} is a folder; give a file name in it" in capsys.readouterr().err


# ------------------------------------------------------------------ a command refuses what it does not take

@pytest.mark.parametrize("argv, prog", [(["info", "weights/"], "mets info"),
                                        (["rank", "a.hea", "-p", "sinus rhythm", "--bogus"], "mets rank"),
                                        (["ptbxl", "translate-report", "--data-dir", "x", "extra"],
                                         "mets ptbxl translate-report")])
def test_an_argument_a_command_does_not_take_is_refused_with_that_commands_usage(argv, prog, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {prog} ") and f"{prog}: error: unrecognized arguments: {argv[-1]}" in err


# ------------------------------------------------------------------ messages in the command line's words

def test_a_csv_without_lead_names_is_explained_without_python_names(model_dir, tmp_path, capsys):
    notes = tmp_path / "notes.csv"
    notes.write_text("hello\n1\n2\n", encoding="utf-8")
    assert main(["rank", str(notes), "-p", "sinus rhythm", "--model", str(model_dir), "--no-progress"]) == 1
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(f"mets: {notes}: ")]
    assert "add --lead-names" in line and "mets_core" not in line and "LEAD_ALIASES" not in line


def test_embed_counts_one_embedding_and_one_failure_in_the_singular(model_dir, good_and_broken, tmp_path, capsys):
    out = tmp_path / "e.npz"
    assert main(["embed", *good_and_broken, "--model", str(model_dir), "--out", str(out), "--no-progress",
                 "--workers", "1"]) == 1
    assert f"mets: 1 embedding (128-d) written to {out}; 1 record failed" in capsys.readouterr().err


# ------------------------------------------------------------------ rank's prompt options checked before the run

def test_an_unknown_kind_is_a_usage_error_before_any_record_is_read(tmp_path, capsys):
    # no model at that path: the old code read the records and loaded the model before saying "unknown prompt
    # kind 'Rhythm'; known: ['diagnostic', ...]"; the choice is checked first, and says the kinds
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(tmp_path / "none.hea"), "-p", "sinus rhythm", "--kind", "Rhythm",
              "--model", str(tmp_path / "no-model")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --kind: invalid choice: 'Rhythm' (choose from 'diagnostic', 'form', 'rhythm')" in err
    assert "none.hea" not in err and "['diagnostic'" not in err


def test_a_prompts_file_of_comments_only_is_named_as_what_holds_no_prompts(tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# my vocabulary, to fill in\n\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(tmp_path / "a.hea"), "--prompts-file", str(prompts)])
    assert stop.value.code == 2
    assert f"mets: --prompts-file {prompts} holds no prompts: write one per line" in capsys.readouterr().err


# ------------------------------------------------------------------ a record is one record however it is named

def _wfdb_record(folder: Path, name: str) -> Path:
    import wfdb
    import numpy as np
    sig = synthetic_12lead(seconds=10, fs=500, seed=1, hr=65)
    leads = ["I", "II", "V1"]
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=500, units=["mV"] * 3, sig_name=leads, p_signal=np.stack([sig[k] for k in leads], axis=1),
                fmt=["16"] * 3, write_dir=str(folder))
    return folder / name


def test_a_wfdb_record_named_with_and_without_its_header_suffix_is_answered_once(model_dir, tmp_path, capsys):
    record = _wfdb_record(tmp_path / "data", "rec1")
    assert main(["rank", str(record), f"{record}.hea", str(record.parent), "-p", "sinus rhythm", "--json",
                 "--model", str(model_dir), "--no-progress", "--workers", "1"]) == 0
    assert [r["record"] for r in json.loads(capsys.readouterr().out)] == [str(record)]


def test_resume_counts_a_record_as_done_however_the_earlier_run_named_it(model_dir, tmp_path, capsys):
    record = _wfdb_record(tmp_path / "data", "rec1")
    _wfdb_record(tmp_path / "data", "rec2")
    listing = tmp_path / "data" / "first.txt"
    listing.write_text("rec1\n", encoding="utf-8")          # a list file names records without their suffix
    out = tmp_path / "ranks.csv"
    common = ["-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out), "--no-progress", "--workers", "1"]
    assert main(["rank", f"@{listing}", *common]) == 0
    assert main(["rank", str(record.parent), *common, "--resume"]) == 0          # the folder names them by .hea
    assert "1 record (0 errors) written" in capsys.readouterr().err
    assert [r["record"] for r in _rows(out)] == [str(record), str(record.parent / "rec2.hea")]
