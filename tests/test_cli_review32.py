"""Review 32 of the command line and the trainer, by reading the code for logic that cannot do what it says:
--resume kept .jsonl/.parquet rows of other prompts (CSV refused), a glob matching only folders read nothing and
said nothing, a reader process that died blamed the record read beside it, a checkpoint's summary named the
label sets whatever had chosen it, and `mets evaluate --protocol` ignored corpus options without a word."""
import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from helpers import require_data
from mets_core.cli import main
from mets_core.commands.model_loading import preprocess_settings
from mets_core.commands.read_ahead import RecordReader
from mets_core.simulate import simulate_ecg
from mets_train.training.loop import selected_by


def _csv_ecg(folder: Path, name: str, seed: int) -> Path:
    ecg = simulate_ecg(duration_s=10, heart_rate=70, seed=seed)
    path = folder / f"{name}.csv"
    rows = [",".join(ecg.leads)] + [",".join(f"{v:.4f}" for v in row) for row in ecg.signal[ecg.lead_mask].T]
    path.write_text("\n".join(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_resume_refuses_rows_of_other_prompts_in_every_format(tmp_path, capsys, suffix):
    first, second = _csv_ecg(tmp_path, "a", 1), _csv_ecg(tmp_path, "b", 2)
    out = tmp_path / f"ranks{suffix}"
    common = ["--fs", "500", "--no-progress", "--out", str(out)]
    assert main(["rank", str(first), "-p", "sinus rhythm", *common]) == 0
    capsys.readouterr()
    # other prompts: the first record would count as done and never be scored with them
    with pytest.raises(SystemExit) as stop:
        main(["rank", str(first), str(second), "-p", "atrial fibrillation", *common, "--resume"])
    assert stop.value.code == 2
    assert "has other columns (other prompts, or an earlier mets?); use a new --out file" in capsys.readouterr().err
    # the same prompts resume: only the second record is scored
    assert main(["rank", str(first), str(second), "-p", "sinus rhythm", *common, "--resume"]) == 0
    capsys.readouterr()
    if suffix == ".parquet":
        rows = pd.read_parquet(out).to_dict("records")
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    else:
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [Path(r["record"]).name for r in rows] == ["a.csv", "b.csv"]
    assert len({tuple(r) for r in rows}) == 1           # every row has every column, in every format


def test_a_glob_matching_folders_reads_the_records_in_them(tmp_path, capsys):
    for day in ("day1", "day2"):
        (tmp_path / day).mkdir()
    data = require_data("ludb/data/1.hea") / "ludb" / "data"
    (tmp_path / "day1" / "1.hea").write_text((data / "1.hea").read_text())
    for lead_file in data.glob("1.*"):
        if lead_file.suffix != ".hea":
            (tmp_path / "day1" / lead_file.name).write_bytes(lead_file.read_bytes())
    assert main(["rank", str(tmp_path / "day*"), "-p", "sinus rhythm", "--no-progress", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["record"].endswith("day1/1.hea")


def test_a_glob_matching_only_empty_folders_is_said(tmp_path, capsys):
    (tmp_path / "empty1").mkdir()
    assert main(["rank", str(tmp_path / "empty*"), "-p", "sinus rhythm", "--no-progress"]) == 1
    assert "the pattern matches no ECG record (only folders without" in capsys.readouterr().err


class DiesWhenRead(str):
    """A record name whose unpickling in a reader process ends that process, as an out-of-memory kill would."""

    def __reduce__(self):
        return os._exit, (9,)


def test_a_dying_reader_process_blames_its_own_record_not_the_one_beside_it():
    mitdb = require_data("mitdb/101.hea") / "mitdb"
    slow = str(mitdb / "101")         # 30 minutes, preprocessed in the reader: in flight when the other dies
    records = [slow, DiesWhenRead("hostile"), str(mitdb / "102")]
    with RecordReader(records, workers=2, preprocess_settings=preprocess_settings(None)) as reader:
        got = {str(rec): result for rec, result in reader}
    assert not isinstance(got[slow], BaseException), got[slow]
    assert not isinstance(got[str(mitdb / "102")], BaseException)
    assert "the reader process died while reading it" in str(got["hostile"])


def test_a_checkpoint_says_what_chose_it():
    scored = {"sets": {"open": {"macro_auc": 0.8}, "ptbxl_superclass": {"macro_auc": None}}, "select_score": 0.8}
    assert selected_by(scored) == "validation macro AUC of the label sets open"
    statements = {"sets": {"open": {"macro_auc": None}}, "select_score": 0.7}
    assert selected_by(statements) == "validation macro AUC of all statements (no label set could be scored)"
    assert selected_by({"sets": {}, "select_score": None}) == "the lowest validation loss (no two-class label to score)"


@pytest.mark.parametrize("flags, named", [(["--no-expand"], "--no-expand goes"),
                                          (["--labels", "x.json", "--split", "train"], "--labels, --split go")])
def test_evaluate_protocol_refuses_the_corpus_evaluation_options(tmp_path, capsys, flags, named):
    assert main(["evaluate", "--protocol", "mitbih", "--data-dir", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert named in err and "--protocol mitbih scores its own records and labels" in err
