"""Review 35 of the command line, each reproduced first; each test fails on the code before: `mets info --help`
and `mets evaluate --help` did not say what the command does; `mets rank --resume` run from another working
folder scored again the records an earlier run had written by a relative name; `mets rank --out x.parquet`
wrote a column with no value in any row (every record an error; weights without reference ECGs) as Parquet's
"null" type, and `mets embed` with every record failed wrote every column as numbers; `mets embed --out` into a
folder that cannot be written scored everything, then ended in a traceback; an --out naming a folder was told
its name must end in .csv; a --prompts-file that is not UTF-8 (Latin-1, Windows' UTF-16) ended in a traceback,
and the byte order mark of a UTF-8 one became a prompt of its own; a full disk under `--json > file` ended in a
traceback; missing default weights pointed a command-line user at a Python method; `mets embed DATA/ --out
DATA/emb.npz` made the next run over DATA/ read its own output as an ECG and fail; `--resume` with every record
already written loaded the model for nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write_cli_model
from hospital_files import muse_xml, synthetic_12lead
from mets_core.cli import all_commands, main

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
REPO = Path(__file__).resolve().parent.parent
QUIET = ["--no-progress", "--workers", "1"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli_review35") / "model", ["sinus rhythm.", "atrial fibrillation"])


def _ecg(path: Path, seed: int = 0) -> Path:
    sig = synthetic_12lead(seconds=10, fs=500, seed=seed, hr=70)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(muse_xml({k: sig[k] for k in EIGHT}))
    return path


def _broken(path: Path) -> Path:
    path.write_bytes(b"<RestingECG><Waveform>")
    return path


def _csv_rows(path: Path) -> list[dict]:
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ every command's --help says what it does

@pytest.mark.parametrize("command", sorted(all_commands()))
def test_every_command_help_says_what_the_command_does(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    usage, description = capsys.readouterr().out.split("\n\n")[:2]
    assert usage.startswith(f"usage: mets {command}")
    # the paragraph after the usage is the description, not the list of options
    assert not description.startswith(("options:", "positional arguments:")), description
    assert description[:1].isupper()


# ------------------------------------------------------------------ --resume from another working folder

def test_resume_from_another_working_folder_knows_the_records_written_by_a_relative_name(model_dir, tmp_path,
                                                                                          capsys, monkeypatch):
    _ecg(tmp_path / "study" / "data" / "a.xml", seed=0)
    _ecg(tmp_path / "study" / "data" / "b.xml", seed=1)
    out = tmp_path / "ranks.csv"
    common = ["-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out), *QUIET]
    monkeypatch.chdir(tmp_path / "study")
    assert main(["rank", "data/a.xml", *common]) == 0
    monkeypatch.chdir(tmp_path)                  # the same record, written from another folder
    assert main(["rank", "study/data", *common, "--resume"]) == 0
    assert "1 record (0 errors) written" in capsys.readouterr().err        # b.xml only
    rows = _csv_rows(out)
    assert [r["record"] for r in rows] == [str(tmp_path / "study" / "data" / name) for name in ("a.xml", "b.xml")]
    # and once every record is there, nothing is scored (nor the model loaded): the file stays as it was
    before = out.read_bytes()
    monkeypatch.chdir(tmp_path / "study" / "data")
    assert main(["rank", ".", *common, "--resume"]) == 0
    assert "nothing left to score" in capsys.readouterr().err
    assert out.read_bytes() == before


# ------------------------------------------------------------------ Parquet columns typed

def test_rank_parquet_columns_are_text_and_numbers_even_with_no_value_in_any_row(model_dir, tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    out = tmp_path / "ranks.parquet"
    broken = _broken(tmp_path / "broken.xml")
    assert main(["rank", str(broken), "-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out),
                 *QUIET]) == 1
    schema = pq.read_schema(out)
    types = {field.name: field.type for field in schema}
    assert pa.null() not in types.values()
    assert types["top_prompt"] == pa.string() and types["stands_out"] == pa.string()
    assert types["similarity[sinus rhythm]"] == pa.float64() and types["percentile[sinus rhythm]"] == pa.float64()
    # a record answered with weights that have no reference ECGs: the percentile column has no value, and is
    # numbers still; --resume reads the file back and writes it again with the same types
    good = _ecg(tmp_path / "good.xml")
    assert main(["rank", str(good), str(broken), "-p", "sinus rhythm", "--model", str(model_dir), "--out",
                 str(out), "--resume", *QUIET]) == 1
    assert {field.name: field.type for field in pq.read_schema(out)} == types
    rows = pq.read_table(out).to_pylist()
    assert [r["record"] for r in rows] == [str(good), str(broken)]
    assert rows[0]["error"] == "" and isinstance(rows[0]["similarity[sinus rhythm]"], float)
    assert rows[0]["percentile[sinus rhythm]"] is None and rows[1]["top_prompt"] is None


def test_embed_parquet_with_every_record_failed_keeps_its_column_types(model_dir, tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    out = tmp_path / "emb.parquet"
    assert main(["embed", str(_broken(tmp_path / "broken.xml")), "--model", str(model_dir), "--out", str(out),
                 *QUIET]) == 1
    types = {field.name: field.type for field in pq.read_schema(out)}
    assert types == {"record": pa.string(), "embedding": pa.list_(pa.float64()), "span": pa.string(),
                     "model": pa.string()}


# ------------------------------------------------------------------ output files that cannot be written

@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be made")
def test_embed_into_a_folder_where_nothing_can_be_written_is_refused_before_the_run(model_dir, tmp_path, capsys):
    record = _ecg(tmp_path / "a.xml")
    with pytest.raises(SystemExit) as stop:
        main(["embed", str(record), "--model", str(model_dir), "--out", "/proc/emb.npz", *QUIET])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "no file can be written in the folder /proc" in err and "written to" not in err


def test_out_naming_a_folder_says_to_name_a_file_in_it(model_dir, tmp_path, capsys):
    record = _ecg(tmp_path / "a.xml")
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(record), "-p", "sinus rhythm", "--model", str(model_dir), "--out", str(folder), *QUIET])
    assert stop.value.code == 2
    assert f"--out {folder} is a folder; give a file name in it, e.g. {folder / 'results.csv'}" in \
        capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device that is always full")
def test_a_full_disk_under_json_output_is_one_line_not_a_traceback(model_dir):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "mets_core.cli", "info", "--model", str(model_dir), "--json"],
                              cwd=REPO, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == ("mets: info: the disk is full (No space left on device); free some space and "
                                   "run the command again")


def test_missing_default_weights_are_told_in_command_line_words(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("METS_WEIGHTS", str(tmp_path / "no-weights"))
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert "--model DIR" in err and "save_pretrained" not in err and "METS." not in err


# ------------------------------------------------------------------ --prompts-file in other encodings

@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8-sig"])
def test_prompts_file_saved_in_another_encoding_gives_its_prompts(model_dir, tmp_path, capsys, encoding):
    record = _ecg(tmp_path / "a.xml")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# my prompts\nsinus rhythm\nélévation du segment ST\n", encoding=encoding)
    assert main(["rank", str(record), "--prompts-file", str(prompts), "--json", "--model", str(model_dir),
                 *QUIET]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert sorted(m["prompt"] for m in result["matches"]) == ["sinus rhythm", "élévation du segment ST"]


def test_prompts_file_that_is_not_text_is_refused_in_words(model_dir, tmp_path, capsys):
    record = _ecg(tmp_path / "a.xml")
    binary = tmp_path / "rec.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(record), "--prompts-file", str(binary), "--model", str(model_dir), *QUIET])
    assert stop.value.code == 2
    assert f"--prompts-file {binary} is not a text file" in capsys.readouterr().err


# ------------------------------------------------------------------ mets embed's own output in a data folder

def test_a_folder_holding_mets_embed_output_is_not_read_as_an_ecg(model_dir, tmp_path, capsys):
    data = tmp_path / "data"
    _ecg(data / "a.xml")
    out = data / "emb.npz"
    common = ["--model", str(model_dir), "--out", str(out), *QUIET]
    assert main(["embed", str(data), *common]) == 0
    assert main(["embed", str(data), *common]) == 0           # emb.npz is in data/ now
    assert f"mets: {out}: " not in capsys.readouterr().err       # no error line about it
    import numpy as np
    with np.load(out) as z:
        assert list(z["records"]) == [str(data / "a.xml")] and list(z["failed_records"]) == []


# ------------------------------------------------------------------ --out never replaces a record being read

@pytest.mark.parametrize("command, name", [("embed", "ecg.npz"), ("rank", "ecg.csv")])
def test_out_naming_one_of_the_records_is_refused_and_the_ecg_kept(model_dir, tmp_path, capsys, monkeypatch,
                                                                   command, name):
    import numpy as np
    sig = synthetic_12lead(seconds=10, fs=500, seed=0, hr=70)
    record = tmp_path / "data" / name
    record.parent.mkdir()
    if name.endswith(".npz"):
        np.savez(record, signal=np.stack([sig[k] for k in EIGHT]), fs=500, leads=np.array(EIGHT))
    else:
        record.write_text(",".join(EIGHT) + "\n" + "\n".join(",".join(f"{sig[k][i]:.4f}" for k in EIGHT)
                                                              for i in range(len(sig["I"]))) + "\n")
    before = record.read_bytes()
    monkeypatch.chdir(tmp_path)
    args = [command, str(record), "--model", str(model_dir), "--out", f"data/{name}", *QUIET]
    with pytest.raises(SystemExit) as stop:
        main(args + (["-p", "sinus rhythm"] if command == "rank" else []))
    assert stop.value.code == 2
    assert f"--out data/{name} is one of the ECG records to read" in capsys.readouterr().err
    assert record.read_bytes() == before


# ------------------------------------------------------------------ --resume onto a file mets did not write

@pytest.mark.parametrize("suffix, content, why", [
    (".csv", "record;note\ncaf\xe9;\xe9l\xe9vation\n".encode("latin-1"), "it is not UTF-8 text"),
    (".jsonl", "{\"record\": \"caf\xe9\"}\n".encode("latin-1"), "it is not UTF-8 text"),
    (".parquet", b"PK\x03\x04 not parquet at all", "it is not a Parquet file it can read")])
def test_resume_onto_a_file_mets_did_not_write_says_so_in_words(model_dir, tmp_path, capsys, suffix, content, why):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    record = _ecg(tmp_path / "a.xml")
    out = tmp_path / f"old{suffix}"
    out.write_bytes(content)
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(record), "-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out), "--resume",
              *QUIET])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"--resume: {out} does not hold the rows of an earlier mets run ({why})" in err
    assert "codec" not in err and "magic bytes" not in err
    assert out.read_bytes() == content


def test_resume_redoes_a_last_csv_line_cut_in_the_middle_of_a_character(model_dir, tmp_path, capsys):
    first, second = _ecg(tmp_path / "a.xml", seed=0), _ecg(tmp_path / "b.xml", seed=1)
    out = tmp_path / "ranks.csv"
    common = ["-p", "sinus rhythm", "--model", str(model_dir), "--out", str(out), *QUIET]
    assert main(["rank", str(first), *common]) == 0
    with open(out, "ab") as f:              # a full disk cut the next row inside a two-byte character
        f.write(f"{second},I II,,caf".encode() + "é".encode()[:1])
    assert main(["rank", str(first), str(second), *common, "--resume"]) == 0
    assert "1 record (0 errors) written" in capsys.readouterr().err
    assert [r["record"] for r in _csv_rows(out)] == [str(first), str(second)]


def test_embed_of_names_that_match_no_record_says_nothing_was_written(model_dir, tmp_path, capsys):
    out = tmp_path / "emb.npz"
    assert main(["embed", str(tmp_path / "no-such.xml"), "--model", str(model_dir), "--out", str(out), *QUIET]) == 1
    assert f"nothing was written to {out}: none of the records named was found" in capsys.readouterr().err
    assert not out.exists()


def test_too_few_lead_names_are_counted_in_the_command_lines_words(model_dir, tmp_path, capsys):
    """A WFDB record of 2 channels given one --lead-names: "--lead-names has 1 name", the readers' count in the
    singular put in the command line's words (the hint matched only "1 names" and left "lead_names" as it was)."""
    import numpy as np
    import wfdb
    signal = np.tile(np.sin(np.linspace(0, 60, 2500))[:, None], (1, 2))
    wfdb.wrsamp("two", fs=250, units=["mV", "mV"], sig_name=["ECG1", "ECG2"], p_signal=signal, fmt=["16", "16"],
                write_dir=str(tmp_path))
    code = main(["rank", str(tmp_path / "two"), "--lead-names", "II", "--prompt", "sinus rhythm",
                 "--model", str(model_dir), *QUIET])
    err = capsys.readouterr().err
    assert code == 1 and "--lead-names has 1 name but" in err and " lead_names has" not in err
