"""`mets rank/retrieve/embed` on datasets: record expansion, prompts, output files, resume, fail-fast."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from hospital_files import muse_xml, synthetic_12lead
from helpers import write_cli_model
from mets_core.cli import main
from mets_core.commands.records import expand_records
from mets_core.pipeline import METS

EIGHT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_cli_model(tmp_path_factory.mktemp("cli_dataset") / "model", ["sinus rhythm.", "atrial fibrillation", "left bundle branch block"])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A folder of 5 MUSE exports, a broken one, and a CSV table that is not an ECG."""
    d = tmp_path_factory.mktemp("dataset")
    (d / "sub").mkdir()
    for i in range(5):
        sig = synthetic_12lead(seconds=10, fs=500, seed=i, hr=60 + 10 * i)
        (d / ("sub" if i % 2 else ".") / f"ecg{i}.xml").write_bytes(muse_xml({k: sig[k] for k in EIGHT}))
    (d / "broken.xml").write_bytes(b"<RestingECG><Waveform>")
    (d / "table.csv").write_text("patient,age\n1,50\n")
    return d


def test_records_from_folders_globs_and_lists(dataset, tmp_path):
    found, missing = expand_records([str(dataset)])
    assert len(found) == 6 and not missing and not any(f.endswith(".csv") for f in found)
    found, _ = expand_records([str(dataset / "**" / "ecg*.xml")])
    assert len(found) == 5
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two records\n{dataset / 'ecg0.xml'}\nsub/ecg1.xml\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ecg1.xml").write_bytes((dataset / "sub" / "ecg1.xml").read_bytes())
    found, missing = expand_records([f"@{listing}", "nothing*.xml", "sinus rhythm"])
    assert found == [str(dataset / "ecg0.xml"), str(tmp_path / "sub" / "ecg1.xml")]
    assert [m[0] for m in missing] == ["nothing*.xml", "sinus rhythm"]
    assert "own --prompt flag" in missing[1][1]


def test_multi_segment_headers_are_one_record(tmp_path):
    (tmp_path / "rec.hea").write_text("rec/2 1 250 20\nrec_0001 10\n~ 10\n")
    (tmp_path / "rec_0001.hea").write_text("rec_0001 1 250 10\nrec_0001.dat 16 200 16 0 0 0 0 II\n")
    (tmp_path / "other.hea").write_text("other 1 250 10\nother.dat 16 200 16 0 0 0 0 II\n")
    found, _ = expand_records([str(tmp_path)])
    assert sorted(found) == [str(tmp_path / "other.hea"), str(tmp_path / "rec.hea")]


def test_prompts_by_flag_and_file_never_swallow_records(model_dir, dataset, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# rhythm\natrial fibrillation\n\nsinus bradycardia\n")
    rc = main(["rank", "--prompt", "sinus rhythm", str(dataset / "ecg0.xml"), "--prompts-file", str(prompts),
               "--model", str(model_dir), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    [result] = json.loads(out.out)
    assert sorted(m["prompt"] for m in result["matches"]) == ["atrial fibrillation", "sinus bradycardia",
                                                             "sinus rhythm"]


def test_rank_keeps_prompts_by_the_dashboards_rule(model_dir, dataset, capsys):
    """A repeat in another case is one prompt (the text model is uncased), a line without words is skipped and
    said, as the dashboard's phrase box does; no cap on how many (a researcher may rank a whole vocabulary)."""
    from dashboard.panels.prompts import parse_prompts
    typed = ["Atrial fibrillation", "atrial fibrillation", "...", "sinus rhythm"]
    rc = main(["rank", str(dataset / "ecg0.xml"), *[a for p in typed for a in ("-p", p)], "--model", str(model_dir),
               "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    [result] = json.loads(out.out)
    kept = [m["prompt"] for m in result["matches"] + result.get("unknown", []) + result.get("negated", [])]
    assert sorted(kept) == sorted(parse_prompts("\n".join(typed))[0]) == ["Atrial fibrillation", "sinus rhythm"]
    assert "mets: rank: the line '...' has no words and was skipped" in out.err


def test_nothing_found_fails_before_the_model_loads(tmp_path, capsys):
    rc = main(["rank", str(tmp_path / "nope.xml"), "-p", "x", "--model", str(tmp_path / "no_model")])
    err = capsys.readouterr().err
    assert rc == 1 and err.strip() == f"mets: {tmp_path / 'nope.xml'}: no such file or folder"   # no model error


def test_usage_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["rank", "x.xml"])
    assert e.value.code == 2 and "--prompt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["rank", "x.xml", "-p", "a", "--out", str(tmp_path / "r.xlsx")])
    assert e.value.code == 2 and ".csv, .jsonl, .parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bogus"])
    assert "invalid choice" in capsys.readouterr().err


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_rank_out_csv_with_errors_and_resume(model_dir, dataset, tmp_path, capsys):
    out = tmp_path / "results.csv"
    args = ["rank", str(dataset), "-p", "sinus rhythm", "-p", "atrial fibrillation", "--model", str(model_dir),
            "--out", str(out), "--batch-size", "2", "--workers", "2"]
    assert main(args) == 1                        # the broken file is an error row, the run goes on
    err = capsys.readouterr().err
    rows = read_csv(out)
    assert len(rows) == 6 and sum(bool(r["error"]) for r in rows) == 1
    assert "broken.xml" in err and "6 records (1 error) written" in err
    good = [r for r in rows if not r["error"]]
    assert all(r["top_prompt"] in ("sinus rhythm", "atrial fibrillation") for r in good)
    for r in good:
        s = [float(r["similarity[sinus rhythm]"]), float(r["similarity[atrial fibrillation]"])]
        assert float(r["top_similarity"]) == max(s)
        assert float(r["probability[sinus rhythm]"]) + float(r["probability[atrial fibrillation]"]) == \
            pytest.approx(1, abs=1e-5)
    # interrupted run: keep 3 complete rows (a good one marked), cut the 4th in the middle
    header, *lines = out.read_text().splitlines(keepends=True)
    i = next(k for k in range(3) if rows[k]["error"] == "")
    lines[i] = lines[i].replace("," + rows[i]["top_prompt"] + ",", ",MARK,", 1)
    out.write_text(header + "".join(lines[:3]) + lines[3][:10])
    main(args + ["--resume"])
    capsys.readouterr()
    resumed = read_csv(out)
    assert len(resumed) == 6 and len({r["record"] for r in resumed}) == 6
    marked = next(r for r in resumed if r["record"] == rows[i]["record"])
    assert marked["top_prompt"] == "MARK"         # kept rows are not scored again (error rows are: test_cli_review33)
    assert {r["record"] for r in resumed} == {r["record"] for r in rows}


def test_rank_out_jsonl_retrieve_and_embed(model_dir, dataset, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    main(["rank", str(dataset / "sub"), "-p", "a", "-p", "b", "--model", str(model_dir), "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all(r["top_prompt"] in ("a", "b") for r in rows)
    hits = tmp_path / "hits.jsonl"
    assert main(["retrieve", str(dataset / "sub"), "-k", "2", "--model", str(model_dir), "--out", str(hits)]) == 0
    first = json.loads(hits.read_text().splitlines()[0])
    assert len(first["reports"]) == 2 and first["reports"][0]["source_id"] in ("r1", "r2", "r3")
    emb = tmp_path / "emb.npz"
    assert main(["embed", str(dataset), "--model", str(model_dir), "--out", str(emb)]) == 1   # broken.xml
    capsys.readouterr()
    z = np.load(emb)
    assert z["embeddings"].shape == (5, METS.from_pretrained(model_dir).model.cfg.proj_dim)
    assert np.allclose(np.linalg.norm(z["embeddings"], axis=1), 1, atol=1e-5)
    assert list(z["failed_records"]) == [str(dataset / "broken.xml")]
    # the same vectors as the library
    from mets_core import read_ecg
    m = METS.from_pretrained(model_dir)
    i = list(z["records"]).index(str(dataset / "ecg0.xml"))
    np.testing.assert_allclose(z["embeddings"][i], m.embed_ecg(read_ecg(dataset / "ecg0.xml"))[0], atol=1e-5)


@pytest.fixture(scope="module")
def calibrated_model(model_dir, dataset, tmp_path_factory):
    """The test model with what `mets export` adds: knowledge.json (a validation AUC for atrial fibrillation,
    a known-phrase threshold), the known phrasings' embeddings, and reference ECGs that make ecg0 rank at the
    top of them for "atrial fibrillation" and at the bottom for "sinus rhythm"."""
    from safetensors.numpy import save

    from mets_core import read_ecg
    m = METS.from_pretrained(model_dir)
    x = m.embed_ecg(read_ecg(dataset / "ecg0.xml"))[0]
    af, sr = m.embed_prompts(["atrial fibrillation", "sinus rhythm"])
    # reference ECGs like ecg0 but a little less like "atrial fibrillation" and more like "sinus rhythm"
    ref = x + 0.5 * (sr - af)
    ref /= np.linalg.norm(ref)
    assert ref @ af < x @ af - 1e-3 and ref @ sr > x @ sr + 1e-3
    knowledge = {"known_threshold": 0.99, "known_phrasings": m.knowledge.known_phrasings(),
                 "validation": {"afib": {"auc": 0.95, "n_positive": 40, "n_windows": 400}}}
    known = m.knowledge.known_embeddings(m.text_encoder.encode).astype(np.float16)
    folder = tmp_path_factory.mktemp("calibrated") / "model"
    m.save_pretrained(folder, extra_files={
        "knowledge.json": json.dumps(knowledge),
        "known_phrasings.safetensors": save({"embeddings": known}),
        "reference.safetensors": save({"embeddings": np.tile(ref, (60, 1)).astype(np.float32),
                                       "n_leads": np.full(60, 12, np.int64)})})
    return folder


def test_rank_shows_percentile_reliability_expansion_and_lists_unknown_phrases_apart(calibrated_model, dataset,
                                                                                       capsys, tmp_path):
    rec = str(dataset / "ecg0.xml")
    prompts = ["-p", "sinus rhythm", "-p", "atrial fibrillation", "-p", "conduction disturbance",
               "-p", "purple ecg", "--model", str(calibrated_model)]
    assert main(["rank", rec, *prompts]) == 0
    text = capsys.readouterr().out
    stands_out = next(line for line in text.splitlines() if "stands out:" in line)
    assert "atrial fibrillation" in stands_out and "sinus rhythm" not in stands_out
    rows = {line.split("  ")[1].strip(): line for line in text.splitlines() if line.startswith("  ") and
            line.split("  ")[1].strip() in ("atrial fibrillation", "sinus rhythm", "conduction disturbance")}
    assert "percentile  reliability" in text    # the columns: percentile, then reliability
    assert "     100.0  validated: AUC 0.95" in rows["atrial fibrillation"]
    assert "       0.0  not validated" in rows["sinus rhythm"]
    assert "(scored as: left bundle branch block; right bundle branch block; " in rows["conduction disturbance"]
    assert "more)" in rows["conduction disturbance"] and "scored as" not in rows["atrial fibrillation"]
    assert "not known to the model (not ranked): purple ecg" in text
    assert main(["rank", rec, *prompts, "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    by = {m["prompt"]: m for m in r["matches"]}
    assert set(by) == {"atrial fibrillation", "sinus rhythm", "conduction disturbance"}
    assert by["atrial fibrillation"]["percentile"] == 100.0 and by["sinus rhythm"]["percentile"] == 0.0
    assert [m["percentile"] for m in r["matches"]] == sorted((m["percentile"] for m in r["matches"]), reverse=True)
    assert by["atrial fibrillation"]["validation_auc"] == 0.95 and "validation_auc" not in by["sinus rhythm"]
    assert "left bundle branch block" in by["conduction disturbance"]["expansion"]
    assert [m["prompt"] for m in r["not_known"]] == ["purple ecg"] and r["not_known"][0]["known"] is False
    # the CSV says what stands out as the headline does, and crowns nothing when nothing does
    headline = stands_out.split("stands out: ")[1].split(", ")
    for prompts_here, expected in ((prompts, "; ".join(headline)),
                                   (["-p", "sinus rhythm", "-p", "purple ecg", "--model", str(calibrated_model)],
                                    "no confident match")):
        out_csv = tmp_path / "rank.csv"
        assert main(["rank", rec, *prompts_here, "--out", str(out_csv)]) == 0
        [row] = list(csv.DictReader(out_csv.open()))
        assert row["stands_out"] == expected and "sinus rhythm" not in row["stands_out"]
        capsys.readouterr()


def test_help_and_usage_errors_import_no_heavy_module():
    # `mets --help` and `mets` alone import no command module; a command's --help or usage error imports its
    # own module, and none of them torch, the readers or pandas
    code = ("import sys\nfrom mets_core.cli import main\n"
            "def run(*argvs):\n    for argv in argvs:\n        try:\n            main(argv)\n"
            "        except SystemExit:\n            pass\n"
            "run(['--help'], [])\n"
            "print('commands:', sorted(m for m in sys.modules if m.startswith('mets_core.commands')))\n"
            "run(['rank', '--help'], ['rank'])\n"
            "heavy = ('torch', 'transformers', 'neurokit2', 'wfdb', 'pandas')\n"
            "print('heavy:', sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert "commands: []" in lines and lines[-1] == "heavy: []", out.stderr


def test_command_table_matches_the_registered_commands():
    import argparse

    from mets_core.cli import all_commands, build_parser
    commands = all_commands()                     # the engine's and the trainer plug-in's
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert set(helps) == set(commands) and {"rank", "train", "corpus", "ptbxl", "export"} <= set(commands)
    assert {k: v[0] for k, v in commands.items()} == helps
