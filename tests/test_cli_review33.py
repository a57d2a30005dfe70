"""Review 33 of the CLI: `--resume` counted a record written as an error row as done, so a file fixed (or a
folder mounted) after the first run was never scored; now its old error row is dropped and it runs again."""
from __future__ import annotations

import csv
import json

import pytest

from helpers import write_cli_model
from hospital_files import muse_xml, synthetic_12lead
from mets_core.cli import main

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli_review33") / "model", ["sinus rhythm.", "atrial fibrillation"])


def _good(seed: int) -> bytes:
    sig = synthetic_12lead(seconds=10, fs=500, seed=seed, hr=70)
    return muse_xml({k: sig[k] for k in EIGHT})


def _rows(path) -> list[dict]:
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    import pandas as pd
    return pd.read_parquet(path).to_dict("records")


def _failed(row) -> bool:
    return isinstance(row["error"], str) and row["error"] != ""


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_resume_tries_again_the_records_written_as_errors_and_keeps_the_others(model_dir, tmp_path, capsys, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"ecg{i}.xml").write_bytes(_good(i))
    (data / "late.xml").write_bytes(b"<RestingECG><Waveform>")          # broken on the first run
    out = tmp_path / f"r{suffix}"
    args = ["rank", str(data), "-p", "sinus rhythm", "-p", "atrial fibrillation", "--model", str(model_dir),
            "--out", str(out), "--workers", "1"]
    assert main(args) == 1
    capsys.readouterr()
    first = _rows(out)
    assert len(first) == 4 and [r["record"] for r in first if _failed(r)] == [str(data / "late.xml")]
    (data / "late.xml").write_bytes(_good(7))                            # the file fixed
    assert main(args + ["--resume"]) == 0
    assert "1 record written as errors before, tried again" in capsys.readouterr().err
    again = _rows(out)
    assert len(again) == 4 and not any(_failed(r) for r in again)
    assert {r["record"] for r in again} == {r["record"] for r in first}
    kept = {r["record"]: r["top_similarity"] for r in first if not _failed(r)}
    assert {r["record"]: r["top_similarity"] for r in again if r["record"] in kept} == kept


def test_resume_writes_a_record_that_fails_again_once(model_dir, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ecg0.xml").write_bytes(_good(0))
    (data / "broken.xml").write_bytes(b"<RestingECG><Waveform>")
    out = tmp_path / "r.csv"
    args = ["rank", str(data), "-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out), "--workers", "1"]
    assert main(args) == 1
    assert main(args + ["--resume"]) == 1                                 # still broken: an error again
    rows = _rows(out)
    assert sorted(r["record"] for r in rows) == sorted([str(data / "ecg0.xml"), str(data / "broken.xml")])
    assert sum(_failed(r) for r in rows) == 1
