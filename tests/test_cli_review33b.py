"""Review 33b of the command line, by reading the code for what the earlier reviews did not cover (each reproduced;
each test fails on the code before): a run whose model or index cannot be used emptied the --out file an
earlier run wrote; `mets info` called a damaged index, or one built with other weights, usable (a damaged one
was a traceback); an interrupted `mets embed --out FILE` said "without --out the results are printed"; a glob
such as 'data/**/*.hea' read the segments of a multi-segment WFDB record as records of their own; --resume
without --out scored everything again and said nothing."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import write_cli_model
from hospital_files import muse_xml, synthetic_12lead
from mets_core.cli import main

REPO = Path(__file__).resolve().parent.parent
EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli_review33b") / "model", ["sinus rhythm.", "atrial fibrillation"])


@pytest.fixture(scope="module")
def other_weights_with_that_index(tmp_path_factory, model_dir):
    """A checkpoint of other weights whose index/ folder is the one `model_dir`'s weights built."""
    from mets_core.pipeline import METS
    folder = tmp_path_factory.mktemp("cli_review33b_other") / "model"
    METS.random_init({"model": {"width": 16}}, seed=1).save_pretrained(folder, training={"corpus": "none"})
    shutil.copytree(model_dir / "index", folder / "index")
    return folder


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("cli_review33b_records")
    paths = []
    for i in range(2):
        sig = synthetic_12lead(seconds=10, fs=500, seed=i, hr=60 + 20 * i)
        path = folder / f"ecg{i}.xml"
        path.write_bytes(muse_xml({k: sig[k] for k in EIGHT}))
        paths.append(str(path))
    return paths


# ------------------------------------------------------------------ a run that cannot start keeps the earlier file

@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_model_that_cannot_be_loaded_leaves_the_earlier_out_file_as_it_was(model_dir, records, tmp_path, capsys,
                                                                             suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"ranks{suffix}"
    common = [*records, "-p", "sinus rhythm", "--out", str(out), "--no-progress", "--workers", "1"]
    assert main(["rank", *common, "--model", str(model_dir)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    # a typo in --model: the run stops before scoring anything (exit 2), and yesterday's results must survive it
    assert main(["rank", *common, "--model", str(tmp_path / "no-such-model")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_an_index_of_other_weights_leaves_the_earlier_hits_as_they_were(model_dir, other_weights_with_that_index,
                                                                       records, tmp_path, capsys):
    out = tmp_path / "hits.csv"
    common = [*records, "--out", str(out), "--no-progress", "--workers", "1"]
    assert main(["retrieve", *common, "--model", str(model_dir)]) == 0
    before = out.read_bytes()
    assert len(before.decode().splitlines()) == 3
    capsys.readouterr()
    assert main(["retrieve", *common, "--model", str(other_weights_with_that_index)]) == 2
    assert "rebuild the index with this model" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_run_that_cannot_start_makes_no_out_file(records, tmp_path, capsys):
    out = tmp_path / "ranks.csv"
    assert main(["rank", *records, "-p", "sinus rhythm", "--out", str(out), "--no-progress",
                 "--model", str(tmp_path / "no-such-model")]) == 2
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_run_that_starts_still_replaces_the_earlier_file(model_dir, records, tmp_path, capsys):
    out = tmp_path / "ranks.csv"
    out.write_text("record,leads\nold.xml,I\n", encoding="utf-8")
    assert main(["rank", records[0], "-p", "sinus rhythm", "--out", str(out), "--no-progress",
                 "--model", str(model_dir)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "old.xml" not in text and records[0] in text


# ------------------------------------------------------------------ mets info: the index as retrieve finds it

def test_info_says_when_the_index_was_built_with_other_weights(other_weights_with_that_index, capsys):
    assert main(["info", "--model", str(other_weights_with_that_index)]) == 0
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("index")]
    assert line.startswith(f"index         {other_weights_with_that_index / 'index'} cannot be used by mets "
                           f"retrieve: this index was built with weights ")
    assert line.endswith(": rebuild the index with this model")
    assert main(["info", "--model", str(other_weights_with_that_index), "--json"]) == 0
    index = json.loads(capsys.readouterr().out)["index"]
    assert index["reports"] is None and "rebuild the index with this model" in index["unusable"]
    assert index["path"] == str(other_weights_with_that_index / "index")


def test_info_says_a_damaged_index_is_damaged_instead_of_a_traceback(model_dir, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / "index" / "index.json").write_text("{not json", encoding="utf-8")
    assert main(["info", "--model", str(folder)]) == 0
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("index")]
    assert line.startswith(f"index         {folder / 'index'} cannot be used by mets retrieve: damaged index (")


def test_info_counts_a_usable_index_and_says_none_without_one(model_dir, tmp_path, capsys):
    assert main(["info", "--model", str(model_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["index"] == {"path": str(model_dir / "index"), "reports": 2}
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder, ignore=shutil.ignore_patterns("index"))
    assert main(["info", "--model", str(folder)]) == 0
    assert "index         none" in capsys.readouterr().out.splitlines()


# ------------------------------------------------------------------ an interrupted embed says what it kept

def test_an_interrupted_embed_says_its_file_is_written_at_the_end(data_dir, tmp_path):
    out = tmp_path / "emb.npz"
    out.write_bytes(b"an earlier run's embeddings")
    p = subprocess.Popen([sys.executable, "-m", "mets_core.cli", "embed", str(data_dir / "ludb" / "data"),
                          "--out", str(out), "--batch-size", "2", "--workers", "1", "--progress"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    said = bytearray()

    def read_stderr() -> None:          # tqdm redraws its bar with \r, never a new line: read what comes
        for chunk in iter(lambda: os.read(p.stderr.fileno(), 4096), b""):
            said.extend(chunk)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    start = time.time()
    # interrupted while scoring: once the progress bar counts an ECG (and long before the last of 200)
    while time.time() - start < 120 and not re.search(rb"\b[1-9]\d*/200\b", bytes(said)) and p.poll() is None:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("mets embed hung after Ctrl-C")
    reader.join(timeout=10)
    err = said.decode(errors="replace")
    assert p.returncode == 130, err
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert last == (f"mets: interrupted; nothing was written to {out} (it is written once, at the end: a file "
                    f"already there is left as it was); run the command again to write it")
    assert out.read_bytes() == b"an earlier run's embeddings"


# ------------------------------------------------------------------ a glob reads a multi-segment record once

def _multi_segment_record(folder: Path) -> None:
    """rec: a two-segment WFDB record (rec.hea names rec_0001 and rec_0002, 5 s each, 10 s in all)."""
    import wfdb
    sig = synthetic_12lead(seconds=10, fs=500, seed=3)
    leads = ["I", "II", "V1"]
    x = np.stack([sig[name] / 1000 for name in leads], axis=1)
    for i in (1, 2):
        wfdb.wrsamp(f"rec_000{i}", fs=500, units=["mV"] * 3, sig_name=leads, p_signal=x[(i - 1) * 2500:i * 2500],
                    fmt=["16"] * 3, adc_gain=[1000] * 3, baseline=[0] * 3, write_dir=str(folder))
    (folder / "rec.hea").write_text("rec/2 3 500 5000\nrec_0001 2500\nrec_0002 2500\n", encoding="ascii")


def test_a_glob_of_headers_reads_a_multi_segment_record_once_as_a_folder_does(model_dir, tmp_path, capsys):
    _multi_segment_record(tmp_path)
    for named in (str(tmp_path), str(tmp_path / "*.hea"), str(tmp_path / "**" / "*.hea")):
        assert main(["rank", named, "-p", "sinus rhythm", "--model", str(model_dir), "--json", "--no-progress",
                     "--workers", "1"]) == 0, named
        results = json.loads(capsys.readouterr().out)
        assert [(r["record"], r["span"]) for r in results] == [(str(tmp_path / "rec.hea"), "whole record, 10 s")]
    # a segment named by a glob without its record's header is what was asked for: it is read
    assert main(["rank", str(tmp_path / "rec_0001*.hea"), "-p", "sinus rhythm", "--model", str(model_dir),
                 "--json", "--no-progress", "--workers", "1"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert (result["record"], result["span"]) == (str(tmp_path / "rec_0001.hea"), "whole record, 5 s")


# ------------------------------------------------------------------ --resume needs the file it goes on with

@pytest.mark.parametrize("command", [["rank", "-p", "sinus rhythm"], ["retrieve"]])
def test_resume_without_out_is_a_usage_error_that_says_what_to_add(records, capsys, command):
    with pytest.raises(SystemExit) as stop:
        main([*command, *records, "--resume"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == ("mets: --resume goes on with the --out file of an earlier run: add "
                                               "--out FILE, the same file")


def test_json_beside_out_is_a_usage_error_not_silently_ignored(tmp_path, capsys):
    """`mets rank ... --out r.csv --json` printed nothing on stdout (the rows went to the file) and said nothing of
    --json: now a usage error that says where the results go and how to have JSON (a .jsonl --out)."""
    from mets_core.cli import main
    for command in (["rank", str(tmp_path / "x.xml"), "-p", "sinus rhythm"], ["retrieve", str(tmp_path / "x.xml")]):
        with pytest.raises(SystemExit) as stop:
            main([*command, "--out", str(tmp_path / "r.csv"), "--json"])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "--json prints the results on stdout" in err and ".jsonl" in err
        assert not (tmp_path / "r.csv").exists()
