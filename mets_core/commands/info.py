"""`mets info`: the model, its text encoder, its training data and calibration, and its report index."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli import COMMANDS
from ..model import ModelConfig
from ..preprocess import PreprocessConfig
from .errors import EXIT_SETUP_ERROR, SETUP_ERRORS, error, first_line
from .model_loading import load_index, load_model
from .options import add_model_options


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help=COMMANDS["info"][0],
                              description="What a model folder holds: its weights (hash, size), ECG encoder and "
                                          "the input it takes (window, sampling rate, filtering), its frozen text "
                                          "encoder, what it was trained on, its validation AUCs, the reference "
                                          "ECGs its percentiles come from and its report index (mets retrieve). "
                                          "Read from the folder, no ECG needed.")
    add_model_options(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    try:
        model = load_model(args.model)
    except SETUP_ERRORS as err:
        error("info", err)
        return EXIT_SETUP_ERROR
    info = model.info()
    info["index"] = _index(model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"model         {info['source']}")
    print(f"weights       sha256 {str(info['weights_sha256'])[:16]}...  {info['parameters']:,} parameters")
    arch = ModelConfig.from_dict(info["model"])
    print(f"ECG encoder   {arch.words()}, {arch.in_leads} leads")
    print(f"input         {PreprocessConfig.from_dict(info['preprocess']).words()}")
    print(f"text encoder  {info['text_model']} (frozen) -> {info['embedding_dim']}-d shared space, "
          f"temperature {info['temperature']:.4f}")
    training = info["training"] or {}
    print("training      " + (", ".join(f"{k}={v}" for k, v in training.items() if not isinstance(v, (dict, list)))
                              or "no training summary in this checkpoint"))
    index = info["index"]
    if index is None:
        print("index         none")
    elif index["reports"] is None:
        print(f"index         {index['path']} cannot be used by mets retrieve: {index['unusable']}")
    else:
        print(f"index         {index['reports']} reports at {index['path']}")
    cal = info.get("calibration")
    if not cal:
        print("calibration   none: no percentiles, known-phrase check or validation AUCs with these weights")
        return 0
    for source, counts in (cal.get("training_data") or {}).items():
        print(f"data          {source:14s} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    sup = cal.get("superclass_auc") or {}
    if sup:
        print(f"validation    superclass macro AUC {cal['superclass_macro_auc']:.3f} ("
              + ", ".join(f"{k} {v:.3f}" for k, v in sup.items()) + ")")
    if cal.get("statement_macro_auc") is not None:
        from ..knowledge import AUC_FAIR, MIN_VALIDATION_NEGATIVES, MIN_VALIDATION_POSITIVES
        print(f"validation    {cal['statements_validated']} statements validated (>= {MIN_VALIDATION_POSITIVES} "
              f"validation patients with it and >= {MIN_VALIDATION_NEGATIVES} without, where the weights count "
              f"patients; else 10-s windows): "
              f"macro AUC {cal['statement_macro_auc']:.3f}; weak (AUC < {AUC_FAIR:g}): "
              f"{_weak_words(model.knowledge, cal['weak']) or 'none'}")
    ref = cal.get("reference") or {}
    threshold = cal.get("known_threshold")
    # weights may carry reference ECGs without a threshold: free phrases are then neither known nor unknown
    said = ("none (these weights cannot tell whether the model knows a free phrase, so no free phrase stands out)"
            if threshold is None else f"{threshold:.3f} (from the weights' knowledge.json)")
    windows = (f"{ref['n_windows']} validation windows ({ref.get('twelve_lead')} 12-lead) for percentiles"
               if ref.get("n_windows") is not None else "not described in the weights' knowledge.json")
    print(f"reference     {windows}; known-phrase threshold {said}")
    return 0


def _index(model) -> dict | None:
    """The model folder's report index as `mets retrieve` finds it (model_loading.load_index, which checks that
    these weights built it): {"path", "reports"}; {"path", "reports": None, "unusable": why} when the folder is
    there but retrieve would refuse it (damaged, or built with other weights); None without one."""
    from ..index import INDEX_DIR
    folder = Path(model.source) / INDEX_DIR if model.source else None
    if folder is None or not folder.exists():
        return None
    try:
        return {"path": str(folder), "reports": len(load_index(model, None))}
    except SETUP_ERRORS as err:
        # "FOLDER: damaged index (...)": the folder is named once, at the front of the line
        return {"path": str(folder), "reports": None, "unusable": first_line(err).removeprefix(f"{folder}: ")}


def _weak_words(knowledge, targets: list[str]) -> str:
    """The weak statements as the model card names them: "abnormal QRS (0.578), ..." (a statement's display name
    from knowledge.py; a label such as "atrial enlargement" is its own name), with its validation AUC."""
    validation = knowledge.weights_data.get("validation", {})
    return ", ".join(f"{knowledge.statements.get(t, {}).get('canonical', t)} ({validation[t]['auc']:.3f})"
                     for t in targets)
