"""The library as a researcher meets it (review 35): a checkpoint folder edited by hand or of another kind,
prompts and reports from a table with missing values, a damaged report index, a blank text query, and the
saliency of a long recording."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mets_core.checkpoint import CONFIG_FILE, CheckpointError
from mets_core.cli import main
from mets_core.index import ReportIndex, ReportIndexError
from mets_core.pipeline import METS

from dashboard_fixtures import REPO

SHIPPED = REPO / "weights"


@pytest.fixture(scope="module")
def shipped():
    return METS.from_pretrained(SHIPPED)


@pytest.fixture(scope="module")
def ludb1(data_dir):
    from mets_core import read_ecg
    return read_ecg(data_dir / "ludb" / "data" / "1.hea")


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "weights"
    METS.random_init({"model": {"width": 8}}, seed=0).save_pretrained(folder, training={"corpus": "none"})
    return folder


def _edited(small_checkpoint, tmp_path, edit) -> str:
    folder = tmp_path / "edited"
    shutil.copytree(small_checkpoint, folder)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    edit(config)
    (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    return str(folder)


# ------------------------------------------------------------------ a config.json edited by hand

EDITS = {   # what a hand edit leaves, -> the words that must name it
    "width as text": (lambda c: c["model"].update(width="64"), "'width' must be a whole number, got \"64\""),
    "model as a list": (lambda c: c.update(model=[1, 2]), "model settings must be a JSON object"),
    "clip as text": (lambda c: c["preprocess"].update(clip="x"), "'clip' must be a number"),
    "high-pass as text": (lambda c: c["preprocess"].update(highpass_hz="0.5"), "'highpass_hz' must be a number"),
    "preprocess as a list": (lambda c: c.update(preprocess=[]), "preprocess settings must be a JSON object"),
    "clip of zero": (lambda c: c["preprocess"].update(clip=0), "clip must be positive"),
    "max_windows a fraction": (lambda c: c["preprocess"].update(max_windows=7.5), "'max_windows' must be a whole"),
    "text model a number": (lambda c: c.update(text_model=5), "text_model must be text"),
    "text length as text": (lambda c: c.update(text_max_length="128"), "text_max_length must be a whole number"),
    "training as text": (lambda c: c.update(training="x"), "training must be a JSON object"),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_a_config_value_of_the_wrong_type_is_named_when_the_weights_load(small_checkpoint, tmp_path, edit):
    change, words = EDITS[edit]
    folder = _edited(small_checkpoint, tmp_path, change)
    with pytest.raises(CheckpointError) as caught:
        METS.from_pretrained(folder)
    assert words in str(caught.value)
    assert "not supported between" not in str(caught.value)


def test_mets_info_names_a_wrong_config_value_instead_of_a_traceback(small_checkpoint, tmp_path, capsys):
    folder = _edited(small_checkpoint, tmp_path, lambda c: c.update(training="x"))
    assert main(["info", "--model", folder]) == 2
    assert "training must be a JSON object" in capsys.readouterr().err


def test_a_whole_number_written_with_a_decimal_point_is_that_number(small_checkpoint, tmp_path):
    folder = _edited(small_checkpoint, tmp_path, lambda c: c["model"].update(width=8.0))
    assert METS.from_pretrained(folder).model.cfg.width == 8


def test_a_hugging_face_model_folder_is_named_as_such(small_checkpoint, tmp_path):
    folder = tmp_path / "bert"
    folder.mkdir()
    shutil.copy(small_checkpoint / "model.safetensors", folder)
    (folder / CONFIG_FILE).write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert",
                                                  "hidden_size": 384}), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"is not the config of METS weights \(a Hugging Face bert config\)"):
        METS.from_pretrained(folder)


def test_naming_the_config_file_instead_of_its_folder_says_so(small_checkpoint):
    with pytest.raises(CheckpointError, match=r"is a file, not a checkpoint folder: give the folder that holds") as e:
        METS.from_pretrained(small_checkpoint / CONFIG_FILE)
    assert f"({small_checkpoint})" in str(e.value)


# ------------------------------------------------------------------ prompts and reports from a table

@pytest.mark.parametrize("missing", [None, float("nan")], ids=["None", "NaN"])
def test_a_missing_prompt_from_a_table_is_refused_not_ranked_as_a_word(shipped, ludb1, missing):
    with pytest.raises(TypeError, match=r"each prompt must be text.*prompt 2 of 2 is .*\(a missing value\?\)"):
        shipped.rank(ludb1, ["sinus rhythm", missing])
    with pytest.raises(TypeError, match="each prompt must be text"):
        shipped.embed_prompts([missing])


def test_one_report_given_as_a_string_is_refused_not_embedded_letter_by_letter(shipped):
    with pytest.raises(TypeError, match="give the reports as a list"):
        shipped.embed_report("sinus rhythm")


def test_missing_reports_of_a_table_are_no_entries_of_an_index(shipped):
    index = ReportIndex.build(shipped, ["sinus rhythm.", None, float("nan"), "atrial fibrillation."],
                              ["a/1", "a/2", "a/3", "a/4"])
    assert index.reports == ["sinus rhythm.", "atrial fibrillation."]
    assert index.source_ids == ["a/1", "a/4"]


# ------------------------------------------------------------------ a report index edited or half copied

@pytest.fixture
def index_dir(tmp_path):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((3, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return ReportIndex(["sinus rhythm.", "atrial fibrillation.", "normal ECG."], emb,
                       ["ludb/1:0", "ludb/2:0", "ptbxl/3:0"]).save(tmp_path / "index")


INDEX_EDITS = {   # index.json as an edit or a half copy leaves it
    "counts short": lambda meta: {**meta, "counts": [1]},
    "sources short": lambda meta: {**meta, "sources": [["ludb"]]},
    "counts as text": lambda meta: {**meta, "counts": "3"},
    "hash a number": lambda meta: {**meta, "weights_sha256": 5},
    "a list": lambda meta: [],
}


@pytest.mark.parametrize("edit", INDEX_EDITS, ids=list(INDEX_EDITS))
def test_a_damaged_index_is_named_on_loading_not_met_in_a_search(index_dir, edit):
    meta = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))
    (index_dir / "index.json").write_text(json.dumps(INDEX_EDITS[edit](meta)), encoding="utf-8")
    with pytest.raises(ReportIndexError, match="damaged index"):
        ReportIndex.load(index_dir)


def test_index_embeddings_that_are_not_numbers_are_refused(index_dir):
    from safetensors.numpy import save_file
    save_file({"embeddings": np.full((3, 16), np.nan, dtype=np.float16)}, str(index_dir / "embeddings.safetensors"))
    with pytest.raises(ReportIndexError, match=r"damaged index \(the embeddings hold values that are not numbers"):
        ReportIndex.load(index_dir)


def test_a_blank_text_query_is_refused(shipped):
    index = ReportIndex.load(SHIPPED / "index", model=shipped)
    with pytest.raises(ValueError, match="a text query must contain some text"):
        index.search("   ", k=3)


# ------------------------------------------------------------------ saliency of a long recording

def test_saliency_of_a_long_record_sends_at_most_batch_size_windows_through_the_network(shipped, data_dir,
                                                                                       monkeypatch):
    from mets_core import read_ecg
    holter = read_ecg(data_dir / "mitdb" / "101.hea", start_s=0, end_s=120)     # 23 windows
    whole = shipped.saliency(holter, "atrial fibrillation", occlusion=False)
    seen: list[int] = []
    encode = shipped.model.encode_ecg

    def counted(x, mask=None):
        seen.append(len(x))
        return encode(x, mask)
    monkeypatch.setattr(shipped.model, "encode_ecg", counted)
    batched = shipped.saliency(holter, "atrial fibrillation", batch_size=4)
    assert seen and max(seen) <= 4
    assert np.isclose(batched.similarity, whole.similarity, atol=1e-6)
    assert np.allclose(batched.gradient_x_input, whole.gradient_x_input, atol=1e-6 * np.abs(
        whole.gradient_x_input).max())


def test_a_prompt_given_twice_is_ranked_once_not_sharing_its_softmax_with_itself(shipped, ludb1):
    twice = shipped.rank(ludb1, ["sinus rhythm", "atrial fibrillation", "Sinus rhythm."])
    once = shipped.rank(ludb1, ["sinus rhythm", "atrial fibrillation"])
    assert [m.prompt for m in twice] == [m.prompt for m in once]
    assert [m.probability for m in twice] == [m.probability for m in once]


# ------------------------------------------------------------------ reference ECGs shipped with the weights

@pytest.mark.parametrize("damage", ["lead counts short", "not numbers"])
def test_damaged_reference_ecgs_are_named_on_loading(small_checkpoint, tmp_path, damage):
    from safetensors.numpy import save_file
    folder = tmp_path / "weights"
    shutil.copytree(small_checkpoint, folder)
    emb = np.random.default_rng(0).standard_normal((60, 128)).astype(np.float16)
    n_leads = np.full(60, 12, dtype=np.int16)
    if damage == "lead counts short":
        n_leads = n_leads[:10]          # a ranking crashed on it
    else:
        emb[:] = np.nan                 # every percentile was 0
    save_file({"embeddings": emb, "n_leads": n_leads}, str(folder / "reference.safetensors"))
    with pytest.raises(CheckpointError, match=r"reference.safetensors must hold .*numbers only; re-export"):
        METS.from_pretrained(folder)


def test_a_batch_size_of_no_windows_is_refused_in_words(shipped, ludb1):
    for call in (lambda: shipped.embed_ecg(ludb1.crop(0, 2.0), batch_size=0),
                 lambda: shipped.saliency(ludb1, "sinus rhythm", batch_size=0)):
        with pytest.raises(ValueError, match="batch_size must be a whole number of windows, at least 1; got 0"):
            call()
