import json

import numpy as np
import pytest

from helpers import write_cli_model
from mets_core.cli import main
from mets_core.pipeline import METS

from ludb_pairs import shared_data_dir

PROMPTS = ["sinus rhythm", "atrial fibrillation", "left ventricular hypertrophy", "right bundle branch block",
           "inferior myocardial infarction"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli") / "model",
                           ["sinus rhythm. normal ecg.", "atrial fibrillation", "left bundle branch block"])


def flags(prompts):
    return [a for p in prompts for a in ("--prompt", p)]


def write_csv(path, fs=250.0, seconds=10.0):
    t = np.arange(int(fs * seconds)) / fs
    beat = np.exp(-((t % 0.8) - 0.3) ** 2 / (2 * 0.01 ** 2))
    rows = ["time,I,II,V1"] + [f"{ti:.4f},{b:.5f},{1.2 * b:.5f},{-0.5 * b:.5f}" for ti, b in zip(t, beat)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_rank_json_on_a_real_record(model_dir, capsys):
    record = shared_data_dir() / "ludb" / "data" / "1"
    rc = main(["rank", str(record), "--model", str(model_dir), "--json", *flags(PROMPTS)])
    out = capsys.readouterr()
    assert rc == 0 and out.err == ""
    [result] = json.loads(out.out)
    assert result["record"] == str(record) and len(result["leads"]) == 12
    sims = [m["similarity"] for m in result["matches"]]
    assert sorted(m["prompt"] for m in result["matches"]) == sorted(PROMPTS)
    assert sims == sorted(sims, reverse=True)
    assert sum(m["probability"] for m in result["matches"]) == pytest.approx(1.0, abs=1e-6)
    # the same numbers as the Python API
    api = METS.from_pretrained(model_dir).rank(__import__("mets_core").read_ecg(record), PROMPTS)
    assert [m.prompt for m in api] == [m["prompt"] for m in result["matches"]]
    assert [m.similarity for m in api] == pytest.approx(sims, abs=1e-6)   # windows prepared in a reader process


def test_a_bad_record_gets_one_error_line_and_the_others_their_answer(model_dir, tmp_path, capsys):
    good = write_csv(tmp_path / "good.csv")
    bad = tmp_path / "broken.hea"
    bad.write_text("this is not a header\n")
    missing = tmp_path / "missing.csv"
    rc = main(["rank", str(bad), str(good), str(missing), "--model", str(model_dir), "--json",
               "-p", "sinus rhythm", "-p", "atrial fibrillation"])
    out = capsys.readouterr()
    assert rc == 1
    err_lines = out.err.strip().splitlines()
    assert len(err_lines) == 2
    # names that match nothing are reported first, before the model loads; then unreadable records
    assert err_lines[0] == f"mets: {missing}: no such file or folder"
    assert err_lines[1].startswith(f"mets: {bad}: ") and err_lines[1].count(str(bad)) == 1
    results = json.loads(out.out)
    # the missing record is an answer too (an error row, first), so a results file accounts for every name
    assert [("error" in r) for r in results] == [True, True, False]
    assert len(results[2]["matches"]) == 2 and results[2]["leads"] == ["I", "II", "V1"]


def test_rank_table_output(model_dir, tmp_path, capsys):
    rc = main(["rank", str(write_csv(tmp_path / "a.csv")), "--model", str(model_dir), *flags(PROMPTS[:3])])
    out = capsys.readouterr().out
    assert rc == 0 and "similarity" in out and "share among these, not a probability" in out
    assert all(p in out for p in PROMPTS[:3])


def test_retrieve_and_info(model_dir, tmp_path, capsys):
    rc = main(["retrieve", str(write_csv(tmp_path / "a.csv")), "-k", "2", "--model", str(model_dir), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    [result] = json.loads(out.out)
    assert len(result["reports"]) == 2 and {r["source_id"] for r in result["reports"]} <= {"r1", "r2", "r3"}
    assert main(["info", "--model", str(model_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["text_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert info["index"]["reports"] == 3 and info["training"]["corpus"].startswith("none")
    assert main(["info", "--model", str(model_dir)]) == 0
    assert "text encoder" in capsys.readouterr().out


def test_missing_model_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    rc = main(["rank", str(write_csv(tmp_path / "a.csv")), "--model", str(tmp_path / "none"), "-p", "x"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("mets: rank: checkpoint folder") and len(err.strip().splitlines()) == 1
