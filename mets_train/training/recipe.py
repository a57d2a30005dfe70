"""`mets train --recipe ptbxl-mets --data-dir DIR`: METS pretraining on PTB-XL, the paper's setting.

Two steps, both plain:
1. `build_ptbxl_corpus`: the PTB-XL records of the pretraining folds (1-9; fold 10 is never read) become a
   corpus folder in the format `mets train` reads (mets_train/training/data.py): filtered signals at the
   model rate (float16 memmap), lead masks, and one row per ECG with its report (as PTB-XL has it, or
   translated when the recipe says `translate: true`), its SCP statements with the ids of their diagnostic
   superclasses (what `mets evaluate`'s ptbxl_superclass set scores) and its signal form.
   Each record is read in the first form that holds it (`recipe_forms`: records100, records500, then the
   z-scored zscore100 arrays, the last only for a model that z-scores each lead itself), so every record
   with a signal is used; which forms were read, and how many of each, is printed and kept in corpus.json.
2. `mets_train.training.loop.train` with the recipe's training config (ResNet1d-18, 128-d projection,
   temperature 0.07, lr 1e-3, weight decay 1e-3, batch 32, 50 epochs, pretraining template
   "The report of the ECG is that {text}").

Reports are stored whitespace-normalised, and raw text embeddings go to the shared text cache
(~/.cache/mets/text unless `training.text_cache` says otherwise), so `mets ptbxl text-check` and the
recipe embed each report once between them.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np

from .. import CONFIG_DIR
from ..corpus import format as corpus_format
from ..corpus.sources import load_label_maps
from ..ptbxl.dataset import (FOLDS, FORM_OF_RATE, PRETRAINING_FOLDS, PTBXL, SIGNAL_FORMS, TEST_FOLDS, describe_forms,
                             forms_for_input, labels_of)
from ..ptbxl.textcheck import default_cache_dir
from ..ptbxl.translate import translate_report

RECIPES = {"ptbxl-mets": "recipe_ptbxl_mets.json"}


class RecipeError(ValueError):
    """A recipe file or its data folder is unusable; the message says what and what is expected."""


def load_recipe(name_or_path: str, overrides: dict | None = None) -> dict:
    """A recipe by name ("ptbxl-mets" -> mets_train/configs/recipe_ptbxl_mets.json) or JSON path, with `overrides`
    ({"data": {...}, "training": {...}}) merged in key by key."""
    path = Path(name_or_path)
    if name_or_path in RECIPES:
        path = CONFIG_DIR / RECIPES[name_or_path]
    if not path.is_file():
        raise RecipeError(f"no recipe {name_or_path!r}: known recipes {sorted(RECIPES)} (in {CONFIG_DIR}) "
                          f"or a path to a recipe JSON file")
    try:
        recipe = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RecipeError(f"recipe {path} is not valid JSON: {err}") from None
    for section, values in (overrides or {}).items():
        if section.startswith("_"):          # "_comment" and friends
            continue
        if section not in ("data", "training"):
            raise RecipeError(f"recipe overrides take 'data' and 'training', got {section!r}: put each setting under "
                              f"the section it belongs to, e.g. {{\"training\": {{{json.dumps(section)}: ...}}}}")
        if not isinstance(values, dict):
            raise RecipeError(f"recipe overrides: {section!r} must be an object of settings, got {values!r}")
        recipe.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(recipe[section].get(key), dict):
                recipe[section][key] = {**recipe[section][key], **value}
            else:
                recipe[section][key] = copy.deepcopy(value)
    data = recipe.get("data", {})
    unknown = sorted(set(data) - {"pretrain_folds", "validation_folds", "translate", "sampling_rate", "forms"}
                     - {k for k in data if k.startswith("_")})
    if unknown:
        raise RecipeError(f"unknown recipe data settings {unknown}; known: pretrain_folds, validation_folds, "
                          f"translate, sampling_rate, forms")
    for key in ("pretrain_folds", "validation_folds"):
        folds = data.get(key, [])
        if not isinstance(folds, list) or not all(isinstance(f, int) and not isinstance(f, bool) and f in FOLDS
                                                  for f in folds) or (key == "pretrain_folds" and not folds):
            raise RecipeError(f"data.{key} must be a list of PTB-XL folds among {FOLDS[0]}-{FOLDS[-1]}"
                              + (" (at least one)" if key == "pretrain_folds" else "") + f", got {json.dumps(folds)}")
    if not isinstance(data.get("translate", False), bool):
        raise RecipeError(f"data.translate must be true or false (without quotes), got {json.dumps(data['translate'])}")
    if data.get("forms") is not None and not isinstance(data["forms"], list):
        raise RecipeError(f"data.forms must be a list of PTB-XL signal forms among {', '.join(SIGNAL_FORMS)}, got "
                          f"{json.dumps(data['forms'])}")
    bad_forms = sorted(set(data.get("forms") or ()) - set(SIGNAL_FORMS))
    if bad_forms:
        raise RecipeError(f"unknown PTB-XL signal forms {bad_forms} in the recipe's data.forms; known: "
                          f"{', '.join(SIGNAL_FORMS)}")
    if data.get("sampling_rate") is not None and data["sampling_rate"] not in FORM_OF_RATE:
        raise RecipeError(f"data.sampling_rate is {data['sampling_rate']!r}; PTB-XL has 100 or 500 Hz records "
                          f"(null reads whichever form holds each record)")
    overlap = set(data.get("validation_folds", [])) & set(data.get("pretrain_folds", []))
    if overlap:
        raise RecipeError(f"folds {sorted(overlap)} are both pretraining and validation folds")
    test = sorted(set(TEST_FOLDS) & (set(data.get("pretrain_folds", [])) | set(data.get("validation_folds", []))))
    if test:
        # it was a warning, and the test fold's signals were read into the corpus: every protocol result on
        # them would then be on ECGs the model trained on (or chose its checkpoint on)
        raise RecipeError(f"fold {', '.join(map(str, test))} is PTB-XL's test fold, which the evaluation protocols "
                          f"test on: the recipe never reads it; pretrain and validate on folds among "
                          f"{PRETRAINING_FOLDS[0]}-{PRETRAINING_FOLDS[-1]}")
    return recipe


def recipe_forms(data: dict, normalise: str) -> list[str]:
    """The PTB-XL signal forms the recipe reads, in order of preference: `data.sampling_rate` 100 or 500 = that
    rate's mV records only; else `data.forms` (default SIGNAL_FORMS), less the z-scored arrays when the model's
    input is mV (`preprocess.normalise` "none": dataset.forms_for_input)."""
    if data.get("sampling_rate") is not None:
        return [FORM_OF_RATE[data["sampling_rate"]]]
    forms = list(forms_for_input(normalise, tuple(data.get("forms") or SIGNAL_FORMS)))
    if not forms:
        raise RecipeError(f"the recipe's data.forms {data.get('forms')} leaves nothing to read for a model fed mV "
                          f"(preprocess.normalise 'none'): add records100 or records500")
    return forms


# what a window's statements are: its SCP codes and its diagnostic superclasses' ids (a corpus built before the
# superclass ids lacks this, and is built again rather than reused)
STATEMENT_IDS = "scp codes and superclass ids"


def build_ptbxl_corpus(dataset: PTBXL, out: str | Path, pretrain_folds, validation_folds=(),
                       translate: bool = False, preprocess: dict | None = None, progress: bool = True) -> dict:
    """Write the corpus folder (signals.npy, lead_mask.npy, windows.csv, corpus.json). Only records whose
    signal exists in one of the dataset's forms are used, each in the first form that holds it; returns
    corpus.json's content (with counts, `forms_read` among them)."""
    from tqdm import tqdm

    from mets_core.preprocess import PreprocessConfig, preprocess as run_preprocess, windows

    out = Path(out)
    pre = PreprocessConfig.from_dict(preprocess)
    # the corpus stores filtered mV; normalisation happens per batch in training (mets_train/training/data.py)
    stored = PreprocessConfig.from_dict({**pre.to_dict(), "normalise": "none", "clip": 1e4})
    split_of = {f: "train" for f in pretrain_folds} | {f: "val" for f in validation_folds}
    wanted = dataset.ids(sorted(split_of))
    ids = [i for i in wanted if dataset.has_signal(i)]
    if not ids:
        raise RecipeError(f"none of the {len(wanted)} PTB-XL records of folds {sorted(split_of)} has a signal "
                          f"in {dataset.root} (looked in {', '.join(f + '/' for f in dataset.forms)}); "
                          f"`mets download ptbxl --to DIR` fetches records100/ and records500/")
    forms_read = dataset.form_counts(ids)
    print(f"PTB-XL folds {sorted(split_of)}: {len(ids)} of {len(wanted)} ECGs have a signal; read "
          f"{describe_forms(forms_read)}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    signals = corpus_format.new_signals(out, len(ids), pre.n_samples, name=corpus_format.SIGNALS_FILE + ".tmp")
    masks = np.zeros((len(ids), 12), dtype=bool)
    rows = []
    # each record's diagnostic superclasses too, as the ids the evaluation's ptbxl_superclass set scores
    # (class_norm, class_mi, ...: label_maps.json's scp_class, as the main corpus build writes them); without
    # them a recipe run's validation had no positive for any superclass ("n/a" every epoch)
    class_ids = load_label_maps()["scp_class"]
    for k, ecg_id in enumerate(tqdm(ids, desc="PTB-XL corpus", unit="ECG", disable=not progress, file=sys.stderr)):
        ecg = run_preprocess(dataset.read(ecg_id), stored)
        x, mask = windows(ecg, stored)
        signals[k] = x[0]                  # PTB-XL records are 10 s: one window (the first, if longer)
        masks[k] = mask
        record = dataset.records.loc[ecg_id]
        raw = " ".join(str(record["report"]).split())
        report = translate_report(raw) if translate else raw
        superclasses = labels_of(record["scp"], dataset.statements, "superclass")
        statements = sorted({*record["scp"], *(cid for sc in superclasses for cid in class_ids.get(sc, []))})
        rows.append({"idx": k, "source": "ptbxl", "record": f"{ecg_id:05d}", "patient": str(record["patient_id"]),
                     "start_s": 0, "split": split_of[int(record["strat_fold"])], "report": report,
                     "statements": ";".join(statements), "n_leads": int(mask.sum()),
                     "form": "zscore" if dataset.signal_form(ecg_id) == "zscore100" else "mv"})
    signals.flush()
    del signals
    (out / (corpus_format.SIGNALS_FILE + ".tmp")).replace(out / corpus_format.SIGNALS_FILE)
    corpus_format.write_lead_mask(out, masks)
    corpus_format.write_windows(out, rows)
    meta = {"source": "ptbxl", "data_dir": str(dataset.root.resolve()), "fs": pre.fs, "n_samples": pre.n_samples,
            "window_s": pre.window_s, "forms": list(dataset.forms), "forms_read": forms_read,
            "pretrain_folds": list(pretrain_folds), "validation_folds": list(validation_folds),
            "translate": bool(translate), "statement_ids": STATEMENT_IDS, "n_windows": len(ids),
            "n_train": sum(r["split"] == "train" for r in rows), "n_val": sum(r["split"] == "val" for r in rows),
            "statements": {code: st.description for code, st in sorted(dataset.statements.items())}}
    corpus_format.write_meta(out, meta)
    return meta


def corpus_changes(meta: dict, wanted: dict) -> list[str]:
    """What differs between a recipe corpus's corpus.json and what the recipe would build now, in words
    ("translate: built false, now true"); empty when the corpus can be reused."""
    def same(key: str, built) -> bool:
        if key == "fs":
            return built is not None and float(built) == float(wanted["fs"])
        if key == "data_dir":
            return built is not None and Path(built).expanduser().resolve() == Path(wanted["data_dir"])
        return built == wanted[key]
    return [f"{key}: built {json.dumps(meta.get(key))}, now {json.dumps(wanted[key])}"
            for key in wanted if not same(key, meta.get(key))]


def train_recipe(data_dir: str | Path, recipe: str | dict = "ptbxl-mets", overrides: dict | None = None,
                 resume: bool = False, progress: bool = True) -> dict:
    """Build (or reuse) the PTB-XL corpus, then train. Returns the training summary plus the corpus counts."""
    from .config import make_config
    from .loop import train

    recipe = load_recipe(recipe, overrides) if isinstance(recipe, str) else recipe
    data = recipe["data"]
    cfg = {k: v for k, v in recipe["training"].items() if not k.startswith("_")}
    cfg["text_cache"] = cfg.get("text_cache") or str(default_cache_dir())
    cfg.setdefault("progress", progress)
    cfg = make_config(cfg)
    corpus_dir = Path(cfg["corpus"])
    forms = recipe_forms(data, cfg["preprocess"].get("normalise", "zscore"))
    dataset = PTBXL(data_dir, forms=forms)
    folds = list(data["pretrain_folds"]) + list(data.get("validation_folds", []))
    wanted = {"pretrain_folds": list(data["pretrain_folds"]), "validation_folds": list(data.get("validation_folds", [])),
              "translate": bool(data.get("translate", False)), "forms": forms, "statement_ids": STATEMENT_IDS,
              # the data folder, and what it holds: a corpus built from another folder, or from this one before
              # its download was complete, was reused as if it were this folder's
              "data_dir": str(dataset.root.resolve()), "forms_read": dataset.form_counts(dataset.ids(sorted(folds))),
              "fs": cfg["preprocess"].get("fs", 100.0)}
    meta_path = corpus_dir / corpus_format.META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    changed = None if meta is None else corpus_changes(meta, wanted)
    if meta is None or changed:
        if resume and meta is not None:
            raise RecipeError(f"--resume: the corpus in {corpus_dir} was built with other settings or data "
                              f"({'; '.join(changed)}), so the interrupted run cannot continue on it: resume with the "
                              f"settings and --data-dir it was started with, or start a new run in another --out")
        meta = build_ptbxl_corpus(dataset, corpus_dir, wanted["pretrain_folds"], wanted["validation_folds"],
                                  wanted["translate"], cfg["preprocess"], progress)
    result = train(cfg, resume=resume)
    return {**result, "corpus": str(corpus_dir), "n_train": meta["n_train"], "n_val": meta["n_val"],
            "translate": meta["translate"], "forms_read": meta["forms_read"]}
