"""Rules that live in one place: a model folder's damaged knowledge.json named in words, the dashboard's words
for a record too long to read whole, index source ids read by one parser, one bounded LRU, the corpus
command's defaults taken from the build's, and config sections refused by one helper."""
from __future__ import annotations

import pytest

from helpers import write_cli_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("one_home") / "model", ["sinus rhythm.", "atrial fibrillation"])


# ------------------------------------------------------------------- a damaged knowledge.json in a model folder

@pytest.fixture
def damaged_knowledge(model_dir, tmp_path):
    import shutil
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / "knowledge.json").write_text("", encoding="utf-8")      # e.g. a copy that stopped at 0 bytes
    return folder


def test_a_garbage_knowledge_json_is_named_with_what_to_do(damaged_knowledge):
    from mets_core.checkpoint import CheckpointError
    from mets_core.pipeline import METS
    with pytest.raises(CheckpointError) as info:
        METS.from_pretrained(damaged_knowledge)
    message = str(info.value)
    assert str(damaged_knowledge / "knowledge.json") in message
    assert "re-export the weights" in message and "not valid JSON" in message


def test_mets_info_says_which_file_of_the_model_is_damaged(damaged_knowledge, capsys):
    from mets_core.cli import main
    assert main(["info", "--model", str(damaged_knowledge)]) == 2
    err = capsys.readouterr().err
    assert "knowledge.json" in err and "re-export the weights" in err and "Traceback" not in err


def test_a_knowledge_json_that_is_not_an_object_is_refused_in_words(model_dir, tmp_path):
    import shutil

    from mets_core.checkpoint import CheckpointError
    from mets_core.knowledge import Knowledge
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / "knowledge.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"knowledge\.json is damaged.*re-export the weights"):
        Knowledge.load(folder)


# ------------------------------------------------------------ the dashboard's words for a record too long

def _too_long_wfdb_upload() -> list[tuple[str, bytes]]:
    """A WFDB record whose header declares more samples than the readers accept (its .dat need not hold them:
    the length is refused from the header)."""
    from mets_core.readers.limits import MAX_SAMPLES_PER_LEAD
    n = MAX_SAMPLES_PER_LEAD + 1000
    return [("r.hea", f"r 1 1000 {n}\nr.dat 80 200 8 0 0 0 0 II\n".encode()), ("r.dat", b"\x8a" * 1000)]


def test_the_dashboard_advises_what_a_page_user_can_do_with_a_record_too_long():
    from dashboard.loading import for_clinicians, read_uploads
    result = read_uploads(_too_long_wfdb_upload())
    [(what, raw)] = result.errors
    assert "read_ecg" in raw                     # the library speaks to programmers ...
    page = for_clinicians(raw)                    # ... the page to the person at the screen
    assert "read_ecg" not in page and "start_s" not in page and "end_s" not in page
    assert "shorter files" in page and "mets command" in page and "--start and --end" in page
    assert "24,000,000 samples per lead" in page          # what was wrong is still said


def test_the_library_and_the_command_keep_their_own_advice_for_a_record_too_long(model_dir, tmp_path, capsys):
    from mets_core import ECGReadError, read_ecg
    from mets_core.cli import main
    files = dict(_too_long_wfdb_upload())
    with pytest.raises(ECGReadError, match=r"read_ecg's start_s and end_s"):
        read_ecg(files)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert main(["rank", str(tmp_path / "r.hea"), "-p", "sinus rhythm", "--model", str(model_dir)]) == 1
    assert "--start and --end" in capsys.readouterr().err


# ------------------------------------------------------------------------------- index source ids

@pytest.mark.parametrize("sid, parts", [
    ("mitdb/208:600", ("mitdb", "208", 600.0)),
    ("ptbxl/1:0", ("ptbxl", "1", 0.0)),
    ("ludb/data/7", ("ludb", "data/7", None)),
    ("ludb/7:2.5", ("ludb", "7", 2.5)),
    ("r1", ("r1", "", None)),
    ("mitdb/203:later", ("mitdb", "203", None)),
])
def test_a_source_id_is_read_as_database_record_and_start(sid, parts):
    from mets_core.index import parse_source_id
    assert tuple(parse_source_id(sid)) == parts


def test_a_corpus_window_id_reads_back_as_what_made_it():
    from mets_core.index import format_source_id, parse_source_id, record_of
    sid = format_source_id("mitdb", "208", 600.0)
    assert sid == "mitdb/208:600" and parse_source_id(sid) == ("mitdb", "208", 600.0)
    assert record_of(sid) == "mitdb/208" and record_of("ptbxl/443:0") == "ptbxl/443"


def test_an_index_says_which_databases_its_reports_come_from(model_dir):
    from mets_core.index import ReportIndex
    from mets_core.pipeline import METS
    index = ReportIndex.build(METS.from_pretrained(model_dir), ["afib.", "afib.", "sinus."],
                              ["mitdb/203:10", "cinc2017/A1:0", "r3"])
    assert [list(s) for s in index.sources] == [["mitdb", "cinc2017"], ["r3"]]


def test_the_dashboard_finds_a_hits_record_in_the_data_folder(tmp_path):
    from dashboard.loading import resolve_source
    (tmp_path / "mitdb").mkdir()
    (tmp_path / "mitdb" / "208.hea").write_text("208 2 360 650000\n")
    assert resolve_source(tmp_path, "mitdb/208:600") == (tmp_path / "mitdb" / "208.hea", 600.0)
    assert resolve_source(tmp_path, "mitdb/208") == (tmp_path / "mitdb" / "208.hea", 0.0)
    assert resolve_source(tmp_path, "mitdb/208:later") == (tmp_path / "mitdb" / "208.hea", 0.0)
    assert resolve_source(tmp_path, "../mitdb/208:1") == (tmp_path / "mitdb" / "208.hea", 1.0)


# --------------------------------------------------------------------------------------- one LRU

def test_the_lru_forgets_the_least_recently_used_first():
    from mets_core.cache import LRU
    kept = LRU(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1             # a used: b is now the least recently used
    kept.put("c", 3)
    assert "b" not in kept and "a" in kept and "c" in kept and len(kept) == 2
    assert kept.get("b") is None and kept.pop("a") == 1 and len(kept) == 1


def test_the_measuring_process_module_and_the_lru_need_no_torch():
    import subprocess
    import sys
    code = ("import sys, dashboard.measure_worker, mets_core.cache\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ defaults and settings in one place

def test_the_corpus_command_defaults_are_the_builds():
    import argparse

    from mets_train.commands.corpus import register
    from mets_train.corpus.build import BuildOptions
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["corpus", "build", "--data-dir", "d", "--out", "o"])
    default = BuildOptions()
    assert (args.fs, args.window_s, args.seed, args.val_fraction, args.max_windows_per_record) == \
        (default.fs, default.window_s, default.seed, default.val_fraction, default.max_windows_per_record)


def test_config_sections_refuse_unknown_settings_in_the_same_words():
    from mets_core.model import ModelConfig
    from mets_core.preprocess import PreprocessConfig
    with pytest.raises(ValueError, match=r"unknown model settings \['widht'\]; known: \[.*'width'"):
        ModelConfig.from_dict({"widht": 3})
    with pytest.raises(ValueError, match=r"unknown preprocess settings \['windowsize'\]; known: \[.*'window_s'"):
        PreprocessConfig.from_dict({"windowsize": 3})
    assert PreprocessConfig.from_dict(None) == PreprocessConfig() and ModelConfig.from_dict({}) == ModelConfig()
