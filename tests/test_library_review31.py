"""Review 31 of the library: percentiles of a (1, m) similarity row, the report index's default ranking (the one
`mets retrieve` prints), custom templates checked when assigned, the public classes' docstring examples, the
README's PTB-XL counts, and PTB-DB's leads of a missing .xyz file and its "ECG date" comment."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import require_data
from mets_core import METS, ReportIndex, read_ecg
from mets_core.ecg import ECG
from mets_core.pipeline import Match
from mets_core.simulate import simulate_ecg

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = REPO / "weights"


@pytest.fixture(scope="module")
def untrained() -> METS:
    return METS.random_init(seed=0)


@pytest.fixture(scope="module")
def shipped() -> METS:
    if not (WEIGHTS / "reference.safetensors").is_file() or not (WEIGHTS / "index").is_dir():
        pytest.skip("weights/ ships no reference ECGs or no report index")
    return METS.from_pretrained(WEIGHTS)


# ------------------------------------------------------------------------------------- percentiles

def test_percentiles_take_the_similarity_row_embed_ecg_gives(untrained):
    rng = np.random.default_rng(0)
    dim = untrained.model.cfg.proj_dim
    model = METS(untrained.model, untrained.preprocess_cfg, text_model=untrained.text_model,
                 reference={"embeddings": _unit(rng.standard_normal((80, dim))), "n_leads": np.full(80, 12)})
    ecg = simulate_ecg(10.0, 500, seed=0)
    prompts = _unit(rng.standard_normal((3, dim)))
    row = model.embed_ecg(ecg) @ prompts.T                           # (1, 3): the natural shape
    assert row.shape == (1, 3)
    flat = model.percentiles(ecg, prompts, row[0])
    assert flat.shape == (3,)
    np.testing.assert_array_equal(model.percentiles(ecg, prompts, row), flat)
    for wrong in (np.zeros((2, 3)), np.zeros(4), np.zeros((3, 1)), np.zeros(())):
        with pytest.raises(ValueError, match=r"shape \(3,\) or \(1, 3\)"):
            model.percentiles(ecg, prompts, wrong)
    with pytest.raises(ValueError, match=rf"prompt_embeddings of shape \(m, {dim}\)"):
        model.percentiles(ecg, prompts[:, :5], row[:, :3])


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------------- templates

def test_templates_of_the_wrong_shape_are_refused_when_assigned(untrained):
    model = METS(untrained.model, untrained.preprocess_cfg, text_model=untrained.text_model)
    before = model.templates
    with pytest.raises(ValueError, match=r"'ensembles' per label kind"):
        model.templates = {"pretraining": "The report of the ECG is that {}",
                           "zero_shot": {"diagnostic": "The ECG of {label}."}}
    with pytest.raises(ValueError, match=r"'pretraining' \(with \{text\}\)"):
        model.templates = "paper"
    assert model.templates == before and model.template_set != "custom"     # the refused value is not kept
    custom = {"pretraining": "Report: {text}", "zero_shot": {"diagnostic": "ECG of {label}."},
              "ensembles": {"diagnostic": ["ECG of {label}.", "An ECG showing {label}."]}}
    model.templates = custom                                                 # a well-formed custom set is taken
    assert model.template_set == "custom" and model.templates == custom


# ------------------------------------------------------------------------------------ retrieval

def test_index_search_by_default_ranks_as_mets_retrieve_prints(shipped, capsys):
    data = require_data("ludb/data/1.hea")
    from mets_core.cli import main
    record = data / "ludb" / "data" / "1.hea"
    assert main(["retrieve", str(record), "-k", "10", "--json", "--model", str(WEIGHTS)]) == 0
    printed = json.loads(capsys.readouterr().out)[0]["reports"]
    index = ReportIndex.load(WEIGHTS / "index")
    hits = index.search(shipped, read_ecg(record), k=10)
    assert [h.source_id for h in hits] == [r["source_id"] for r in printed]
    assert [h.similarity for h in hits] == pytest.approx([r["similarity"] for r in printed], abs=1e-6)
    # the plain nearest reports by cosine remain one call away (`mets retrieve --all-hits`)
    plain = index.search(shipped, read_ecg(record), k=10, distinct=False, rank_hubs_down=False)
    sims = [h.similarity for h in plain]
    assert sims == sorted(sims, reverse=True) and [h.source_id for h in plain] != [h.source_id for h in hits]


# ----------------------------------------------------------------------------------- docstrings

@pytest.mark.parametrize("documented", [METS, ECG, ReportIndex, Match, METS.config, METS.info,
                                        ReportIndex.save, ReportIndex.load])
def test_public_classes_and_methods_say_what_they_are(documented):
    doc = inspect.getdoc(documented) or ""
    name = documented.__name__
    # a dataclass without a docstring gets its signature as one ("ECG(signal: ...)"): that says nothing
    assert len(doc) > 80 and not doc.startswith(f"{name}("), f"{name} has no docstring"


def test_class_docstring_examples_run(shipped, capsys):
    data = require_data("ludb/data/1.hea")
    ns = {"METS": METS, "ReportIndex": ReportIndex, "read_ecg": read_ecg}
    for cls in (METS, ECG, ReportIndex, Match):
        example = "\n".join(line[4:] for line in inspect.getdoc(cls).splitlines() if line.startswith("    "))
        assert example, f"{cls.__name__}'s docstring has no example"
        exec(example.replace('"DATA/', f'"{data}/').replace('"weights/', f'"{WEIGHTS}/'), ns)   # noqa: S102
    ecg = ns["ecg"]
    assert (len(ecg.leads), ecg.fs, ecg.duration) == (12, 500.0, 10.0)      # what ECG's example says
    assert len(capsys.readouterr().out.splitlines()) == 3                      # ReportIndex's three hits


# --------------------------------------------------------------------------------- README counts

def test_readme_counts_the_ptbxl_ecgs_the_data_folder_holds():
    data = require_data("ptbxl/ptbxl_database.csv")
    import pandas as pd
    folds = pd.read_csv(data / "ptbxl" / "ptbxl_database.csv", index_col="ecg_id")["strat_fold"]
    ptbxl = data / "ptbxl"
    in_mv = {int(p.name[:5]) for p in ptbxl.glob("records100/*/*_lr.hea")}
    at_500 = {int(p.name[:5]) for p in ptbxl.glob("records500/*/*_hr.hea")}
    zscored = {int(p.stem) for p in ptbxl.glob("zscore100/*/*.npy")}
    mv = {i for i in in_mv | at_500 if folds[i] <= 9}
    z_only = {i for i in zscored - mv if folds[i] <= 9}
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"the ([\d,]+) ECGs of folds 1–9 whose signals were available here \(([\d,]+) in mV: the "
                       r"([\d,]+) original 100 Hz records and (\d+) of the (\d+) at 500 Hz.*?; ([\d,]+) only "
                       r"band-passed and z-scored: the data folder's ([\d,]+) such records less the (\d+) also held "
                       r"in mV", readme)
    assert stated, "README's 'What it saw' no longer counts PTB-XL's ECGs as the model card does"
    numbers = [int(x.replace(",", "")) for x in stated.groups()]
    assert numbers == [len(mv) + len(z_only), len(mv), len(in_mv), len(mv - in_mv), len(at_500), len(z_only),
                       len(zscored), len(zscored & in_mv)]


# ---------------------------------------------------------------------------------------- PTB-DB

def test_leads_of_a_missing_signal_file_are_listed_as_dropped():
    data = require_data("ptbdb/s0015lre.hea", "ptbdb/s0010_re.xyz")
    from dashboard.loading import channels_words
    missing = read_ecg(data / "ptbdb" / "s0015lre.hea")          # declares 15 signals; its .xyz is not there
    read = read_ecg(data / "ptbdb" / "s0010_re.hea")             # its .xyz is, and its Frank leads are left out
    assert missing.metadata["missing_signal_files"] == "s0015lre.xyz"
    assert missing.metadata["dropped_leads"] == read.metadata["dropped_leads"] == "vx vy vz"
    assert len(missing.leads) == len(read.leads) == 12
    assert channels_words(missing.metadata) == channels_words(read.metadata)
    assert "vx, vy, vz" in channels_words(missing.metadata)


def test_ptbdb_ecg_date_comment_dates_the_recording():
    data = require_data("ptbdb/s0010_re.hea", "ptbdb/s0014lre.hea")
    first = read_ecg(data / "ptbdb" / "s0010_re.hea")            # "# ECG date: 01/10/1990"
    later = read_ecg(data / "ptbdb" / "s0014lre.hea")            # "# ECG date: 17/10/1990", the same patient
    assert first.metadata["recorded_at"] == "1990-10-01" and later.metadata["recorded_at"] == "1990-10-17"
    from dashboard.pages.compare import time_order
    assert time_order(SimpleNamespace(ecg=first), SimpleNamespace(ecg=later)) == -1
    assert time_order(SimpleNamespace(ecg=later), SimpleNamespace(ecg=first)) == 1
    # day first, as PTB-DB writes it (02/04/1996 is 2 April); "n/a" is no date
    header = (data / "ptbdb" / "patient200_s0405_re.hea").read_bytes()
    signal = (data / "ptbdb" / "patient200_s0405_re.dat").read_bytes()
    for written, kept in ((b"# ECG date: 02/04/1996", "1996-04-02"), (b"# ECG date: n/a", None),
                          (b"# ECG date: 31/02/1996", None)):
        edited = re.sub(rb"# ECG date: [^\r\n]*", written, header)
        ecg = read_ecg([("patient200_s0405_re.hea", edited), ("patient200_s0405_re.dat", signal)])
        assert ecg.metadata.get("recorded_at") == kept
    # with a base time on the record line: the comment's date and that time; an impossible date keeps the time
    timed = header.replace(b"patient200_s0405_re 12 1000 10000", b"patient200_s0405_re 12 1000 10000 13:40:59")
    assert timed != header
    for written, kept in ((b"# ECG date: 02/04/1996", "1996-04-02T13:40:59"), (b"# ECG date: 31/02/1996", "13:40:59")):
        edited = re.sub(rb"# ECG date: [^\r\n]*", written, timed)
        ecg = read_ecg([("patient200_s0405_re.hea", edited), ("patient200_s0405_re.dat", signal)])
        assert ecg.metadata.get("recorded_at") == kept


def test_one_reading_of_a_record_name_for_retrieval_and_the_exposure_check():
    """mets_core.index.record_key: `mets retrieve` (its own record's windows) and `mets evaluate`'s exposure
    check (mets_train.ptbxl.protocols) match records to the corpus by it; they held two versions of it."""
    from mets_core.index import record_key
    assert [record_key(n) for n in ("records500/06000/06000_hr", "00001_lr", "101", "S0010_re", "000")] == \
        ["6000", "1", "101", "s0010_re", "0"]
