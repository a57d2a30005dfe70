"""The `mets` command line after a researcher's review: lead names and rates on the command line, missing
records as error rows, the span of a record that was scored, the model named in every output row, export's
checkpoint choice, and error wording for the command line (not the Python API or the dashboard)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from helpers import write_cli_model
from mets_core.cli import main

PROMPTS = ["-p", "sinus rhythm", "-p", "atrial fibrillation"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("review") / "model", ["sinus rhythm.", "atrial fibrillation"])


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory):
    """Another checkpoint (other weights) for --resume."""
    from mets_core.pipeline import METS
    folder = tmp_path_factory.mktemp("review_other") / "model"
    METS.random_init({"model": {"width": 16}}, seed=1).save_pretrained(folder, training={"corpus": "none"})
    return folder


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def error_line(err: str, what) -> str:
    """The one stderr line about `what`."""
    [line] = [ln for ln in err.splitlines() if ln.startswith(f"mets: {what}: ")]
    return line


# ---------------------------------------------------------------------------------- 1. --lead-names, --fs

def test_a_qtdb_record_named_ecg1_ecg2_opens_with_lead_names(model_dir, data_dir, capsys):
    record = str(data_dir / "qtdb" / "sel16265")       # its signals are named ECG1, ECG2
    rc = main(["rank", record, *PROMPTS, "--model", str(model_dir), "--json"])
    err = capsys.readouterr().err
    assert rc == 1
    line = error_line(err, record)
    assert "add --lead-names" in line.lower() and "2 recorded channels (ECG1, ECG2)" in line
    assert "e.g. --lead-names II,V5" in line
    assert "read_ecg" not in line and "lead_names=" not in line
    rc = main(["rank", record, *PROMPTS, "--model", str(model_dir), "--json", "--lead-names", "II,V5"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    [result] = json.loads(out.out)
    assert result["leads"] == ["II", "V5"] and len(result["matches"]) == 2


def test_a_npy_file_needs_lead_names_and_fs_and_the_errors_say_the_options(model_dir, tmp_path, capsys):
    rng = np.random.default_rng(0)
    npy = tmp_path / "holter.npy"
    np.save(npy, (0.1 * rng.standard_normal((2, 5000))).astype(np.float32))
    assert main(["embed", str(npy), "--model", str(model_dir), "--out", str(tmp_path / "e.npz")]) == 1
    line = error_line(capsys.readouterr().err, npy)
    assert "add --lead-names" in line and "lead_names=" not in line and " it " not in line
    assert main(["embed", str(npy), "--model", str(model_dir), "--out", str(tmp_path / "e.npz"),
                 "--lead-names", "II,V5"]) == 1
    line = error_line(capsys.readouterr().err, npy)
    assert "add --fs HZ, its sampling rate" in line and "read_ecg" not in line
    assert main(["embed", str(npy), "--model", str(model_dir), "--out", str(tmp_path / "e.npz"),
                 "--lead-names", "II,V5", "--fs", "250"]) == 0
    capsys.readouterr()
    z = np.load(tmp_path / "e.npz")
    assert list(z["records"]) == [str(npy)] and z["embeddings"].shape[0] == 1
    assert str(z["spans"][0]) == "whole record, 20 s, averaged over 3 windows"   # 5000 samples at 250 Hz


def test_lead_names_fs_start_and_end_are_checked_as_usage_errors(capsys):
    for bad, said in ((["--lead-names", "II,,V5"], "separated by commas"), (["--fs", "0"], "--fs 0: give a number > 0"),
                      (["--fs", "abc"], "--fs abc"), (["--start", "-1"], "--start -1: give a number >= 0"),
                      (["--start", "10", "--end", "5"], "--end 5 must be after --start 10")):
        with pytest.raises(SystemExit) as e:
            main(["rank", "x.hea", "-p", "a", *bad])
        assert e.value.code == 2 and said in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- 2. export

def test_export_takes_last_when_the_run_has_no_best_and_missing_runs_are_one_line(tmp_path, capsys):
    from mets_core.pipeline import METS
    from mets_train.training.synthetic import write_synthetic_corpus
    run = tmp_path / "run"
    METS.random_init({"model": {"width": 8}}, seed=0).save_pretrained(run / "last")   # what a recipe run keeps
    corpus = write_synthetic_corpus(tmp_path / "corpus", n_patients=6, windows_per_patient=2)

    assert main(["export", "--run", str(run), "--corpus", str(corpus), "--out", str(tmp_path / "w"),
                 "--checkpoint", "best"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mets: ") and "--checkpoint last" in err
    assert main(["export", "--run", str(tmp_path / "nope"), "--corpus", str(corpus),
                 "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mets: ") and "no such folder" in err

    assert main(["export", "--run", str(run), "--corpus", str(corpus), "--out", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert f"{run / 'last'}" in out and "no best/" in out
    assert METS.from_pretrained(tmp_path / "w").weights_sha256 == METS.from_pretrained(run / "last").weights_sha256


# --------------------------------------------------------------------------------- 3. missing records

def test_a_missing_record_is_an_error_row_counted_in_the_summary(model_dir, data_dir, tmp_path, capsys):
    good, missing = str(data_dir / "ludb" / "data" / "1"), str(tmp_path / "absent.hea")
    out = tmp_path / "r.csv"
    assert main(["rank", good, missing, *PROMPTS, "--model", str(model_dir), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    rows = {r["record"]: r for r in read_csv(out)}
    assert rows[missing]["error"] == "not found: no such file or folder" and rows[good]["error"] == ""
    assert "2 records (1 error) written" in err

    assert main(["rank", good, missing, *PROMPTS, "--model", str(model_dir), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["record"] for r in results] == [missing, good] and results[0]["error"].startswith("not found: ")

    emb = tmp_path / "e.npz"
    assert main(["embed", good, missing, "--model", str(model_dir), "--out", str(emb)]) == 1
    capsys.readouterr()
    z = np.load(emb)
    assert list(z["failed_records"]) == [missing] and list(z["records"]) == [good]


def test_names_that_match_nothing_still_write_their_rows_without_loading_the_model(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    rc = main(["rank", str(tmp_path / "a.xml"), "-p", "x", "--model", str(tmp_path / "no_model"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "no_model" not in err                    # the model was never loaded
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["record"] == str(tmp_path / "a.xml") and row["error"].startswith("not found: ")


# ------------------------------------------------------------------------------ 4. the span scored

def test_the_span_scored_is_printed_and_written(model_dir, data_dir, tmp_path, capsys):
    record = str(data_dir / "mitdb" / "208")                 # 30 min
    assert main(["rank", record, *PROMPTS, "--model", str(model_dir)]) == 0
    printed = capsys.readouterr().out
    assert "scored: whole record, 1805.6 s, averaged over 361 windows" in printed
    assert main(["rank", record, *PROMPTS, "--model", str(model_dir), "--start", "600", "--end", "610"]) == 0
    assert "scored: 600-610 s" in capsys.readouterr().out
    out = tmp_path / "r.csv"
    assert main(["retrieve", record, "-k", "1", "--model", str(model_dir), "--start", "600", "--end", "620",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    [row] = read_csv(out)
    assert row["span"] == "600-620 s, averaged over 3 windows"


def test_retrieve_tags_the_query_records_own_window(model_dir, data_dir, tmp_path, capsys):
    from mets_core.index import ReportIndex
    from mets_core.pipeline import METS
    index = tmp_path / "index"
    ReportIndex.build(METS.from_pretrained(model_dir), ["sinus rhythm.", "atrial fibrillation."],
                      ["mitdb/208:600", "mitdb/215:0"]).save(index)
    record = str(data_dir / "mitdb" / "208")
    assert main(["retrieve", record, "-k", "2", "--index", str(index), "--model", str(model_dir),
                 "--start", "600", "--end", "610"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("[mitdb/208:600] (this record)" in ln for ln in lines)
    assert not any("mitdb/215" in ln and "this record" in ln for ln in lines)
    assert main(["retrieve", record, "-k", "2", "--index", str(index), "--model", str(model_dir), "--json",
                 "--start", "600", "--end", "610"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert {h["source_id"]: h.get("this_record", False) for h in result["reports"]} == \
        {"mitdb/208:600": True, "mitdb/215:0": False}


def test_retrieve_gives_one_hit_per_record_and_wording_unless_all_hits(model_dir, data_dir, tmp_path, capsys):
    from mets_core.index import ReportIndex
    from mets_core.pipeline import METS
    index = tmp_path / "index"
    texts = ["sinus rhythm at 61 bpm.", "sinus rhythm at 65 bpm.", "afib.", "afib. 2 PVCs.", "afib.", "paced rhythm."]
    ids = ["ludb/1:0", "ludb/2:0", "mitdb/203:10", "mitdb/203:20", "cinc2017/A1:0", "mitdb/217:0"]
    ReportIndex.build(METS.from_pretrained(model_dir), texts, ids).save(index)      # 5 entries: "afib." twice
    record = str(data_dir / "ludb" / "data" / "1")
    args = ["retrieve", record, "-k", "5", "--index", str(index), "--model", str(model_dir)]
    assert main(args + ["--json"]) == 0
    hits = json.loads(capsys.readouterr().out)[0]["reports"]
    # one of the two sinus wordings (61 / 65 bpm), one of mitdb/203's two windows, and mitdb/217
    assert len(hits) == 3 and len({h["source_id"].split(":")[0] for h in hits}) == 3
    assert sum(h["report"].startswith("sinus rhythm at") for h in hits) == 1
    assert main(args + ["--all-hits", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["reports"]) == 5
    assert main(args + ["--all-hits"]) == 0
    assert "[mitdb/203:10 and 1 more strip (mitdb, cinc2017)]  afib." in capsys.readouterr().out


# ------------------------------------------------------------------------------ 5. the model, --version

def test_rows_name_their_model_and_resume_refuses_another(model_dir, other_model_dir, data_dir, tmp_path, capsys):
    sha = json.loads((model_dir / "config.json").read_text())["weights_sha256"]
    records = [str(data_dir / "ludb" / "data" / "1"), str(data_dir / "ludb" / "data" / "2")]
    for out in (tmp_path / "r.csv", tmp_path / "r.jsonl"):
        assert main(["rank", records[0], *PROMPTS, "--model", str(model_dir), "--out", str(out)]) == 0
        capsys.readouterr()
        rows = read_csv(out) if out.suffix == ".csv" else [json.loads(ln) for ln in out.read_text().splitlines()]
        assert rows[0]["model"] == f"{model_dir.resolve()} sha256:{sha[:12]}"
        with pytest.raises(SystemExit) as e:
            main(["rank", *records, *PROMPTS, "--model", str(other_model_dir), "--out", str(out), "--resume"])
        assert e.value.code == 2 and "--resume" in capsys.readouterr().err
        assert len(out.read_text().splitlines()) == (2 if out.suffix == ".csv" else 1)   # the file is untouched
        assert main(["rank", *records, *PROMPTS, "--model", str(model_dir), "--out", str(out), "--resume"]) == 0
        capsys.readouterr()


def test_version(capsys):
    from importlib.metadata import version
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"mets {version('mets-ecg')}"


# ------------------------------------------------------------------------------------ 6. error wording

def test_errors_keep_their_sentence_and_speak_of_the_command_line(model_dir, data_dir, tmp_path, capsys,
                                                                    monkeypatch):
    table = tmp_path / "table.csv"
    table.write_text("time,foo,bar\n" + "".join(f"{i / 250},0.1,0.2\n" for i in range(2500)))
    monkeypatch.chdir(tmp_path)
    assert main(["rank", "table.csv", *PROMPTS, "--model", str(model_dir)]) == 1
    line = error_line(capsys.readouterr().err, "table.csv")
    assert line.startswith("mets: table.csv: the CSV file has column(s) that are not ECG leads") and " it " not in line

    monkeypatch.chdir(data_dir / "qtdb")
    assert main(["rank", "sel16265", *PROMPTS, "--model", str(model_dir)]) == 1
    line = error_line(capsys.readouterr().err, "sel16265")
    assert line.startswith("mets: sel16265: none of the lead names") and "record it" not in line

    avf = str(data_dir / "ludb" / "data" / "1.avf")          # LUDB's wave annotations of lead aVF
    assert main(["rank", avf, *PROMPTS, "--model", str(model_dir)]) == 1
    line = error_line(capsys.readouterr().err, avf)
    assert "upload" not in line and f"name the record instead ({data_dir / 'ludb' / 'data' / '1'})" in line


# ---------------------------------------------------------------------------------------- 7. small

def test_retrieve_k_below_one_is_a_usage_error(capsys):
    for k in ("0", "-3"):
        with pytest.raises(SystemExit) as e:
            main(["retrieve", "x.hea", "-k", k])
        assert e.value.code == 2
    assert "-k" in capsys.readouterr().err


def test_embed_json_prints_its_summary(model_dir, data_dir, tmp_path, capsys):
    out = tmp_path / "e.parquet"
    pytest.importorskip("pyarrow")
    missing = str(tmp_path / "absent.hea")
    assert main(["embed", str(data_dir / "ludb" / "data" / "1"), missing, "--model", str(model_dir),
                 "--out", str(out), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["embeddings"] == 1 and summary["failed_records"] == [missing] and summary["out"] == str(out)
    import pandas as pd
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["record", "embedding", "span", "model"] and frame["model"][0] == summary["model"]


def test_a_missing_index_folder_is_said_to_be_missing(tmp_path):
    from mets_core.index import ReportIndex, ReportIndexError
    with pytest.raises(ReportIndexError, match="does not exist"):
        ReportIndex.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportIndexError, match="is not a report index"):
        ReportIndex.load(tmp_path / "empty")
