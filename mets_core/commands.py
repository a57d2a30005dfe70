"""`mets rank`, `mets retrieve`, `mets info`: the engine from the command line.

Each record is read and answered on its own: a record that cannot be read prints one error line on stderr
(`mets: RECORD: what was wrong`) and the others still get their answer; the exit code is then 1.
A model or index that cannot be loaded is exit code 2. Scores are similarities, not diagnoses.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_RECORD_ERROR = 1
EXIT_SETUP_ERROR = 2


def _error(what: str, err: BaseException | str) -> None:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    print(f"mets: {what}: {msg}", file=sys.stderr)


def _load_model(path: str | None):
    from .mets import METS
    return METS.from_pretrained(path)


def _read(record: str):
    from .readers import read_ecg
    return read_ecg(record)


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", default=None,
                   help="checkpoint folder (default: the shipped weights/, or $METS_WEIGHTS)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help="rank free-text prompts by similarity to each ECG record",
                              description="Zero-shot: cosine similarity of each record to each prompt, and a "
                                          "softmax over the prompts. Similarities, not diagnoses.")
    p.add_argument("records", nargs="+", metavar="RECORD", help="ECG file or WFDB record (path, .hea, .zip, ...)")
    p.add_argument("--prompt", "-p", dest="prompts", action="extend", nargs="+", required=True, metavar="TEXT",
                   help="phrases such as 'atrial fibrillation' (repeat or list several)")
    p.add_argument("--kind", default="diagnostic", help="template ensemble: diagnostic, form or rhythm")
    _add_model_arg(p)
    p.set_defaults(func=cmd_rank)

    p = subparsers.add_parser("retrieve", help="nearest reports of the index to each ECG record")
    p.add_argument("records", nargs="+", metavar="RECORD")
    p.add_argument("-k", type=int, default=10, help="number of reports (default 10)")
    p.add_argument("--index", metavar="DIR", default=None, help="index folder (default: MODEL/index)")
    _add_model_arg(p)
    p.set_defaults(func=cmd_retrieve)

    p = subparsers.add_parser("info", help="the model, its text encoder and its training data")
    _add_model_arg(p)
    p.set_defaults(func=cmd_info)


def _each_record(records: list[str], answer) -> tuple[list[dict], int]:
    """Run `answer(ecg) -> dict` per record; errors become one stderr line and an entry with "error"."""
    results, status = [], 0
    for rec in records:
        try:
            results.append({"record": rec, **answer(_read(rec))})
        except Exception as err:   # the CLI boundary: one line per bad record, never a traceback
            _error(rec, err)
            results.append({"record": rec, "error": str(err)})
            status = EXIT_RECORD_ERROR
    return results, status


def cmd_rank(args) -> int:
    try:
        model = _load_model(args.model)
        model.embed_prompts(args.prompts, args.kind)       # fail early on a bad prompt or text model
    except (ValueError, OSError, RuntimeError) as err:
        _error("rank", err)
        return EXIT_SETUP_ERROR
    results, status = _each_record(args.records, lambda ecg: {"leads": ecg.leads, "matches": [
        {"prompt": m.prompt, "similarity": m.similarity, "probability": m.probability}
        for m in model.rank(ecg, args.prompts, args.kind)]})
    if args.json:
        print(json.dumps(results, indent=2))
        return status
    for r in results:
        if "error" in r:
            continue
        print(f"{r['record']}  (leads: {' '.join(r['leads'])})")
        width = max(len(m["prompt"]) for m in r["matches"])
        print(f"  {'prompt':<{width}}  similarity  probability")
        for m in r["matches"]:
            print(f"  {m['prompt']:<{width}}  {m['similarity']:+10.4f}  {m['probability']:11.4f}")
    return status


def cmd_retrieve(args) -> int:
    from .index import ReportIndex
    try:
        model = _load_model(args.model)
        folder = Path(args.index) if args.index else (Path(model.source) / "index" if model.source else None)
        if folder is None:
            raise ValueError("no index folder: pass --index DIR")
        index = ReportIndex.load(folder, model=model)
    except (ValueError, OSError, RuntimeError) as err:
        _error("retrieve", err)
        return EXIT_SETUP_ERROR
    results, status = _each_record(args.records, lambda ecg: {"reports": [
        {"report": h.report, "similarity": h.similarity, "source_id": h.source_id}
        for h in index.search(ecg, k=args.k)]})
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return status
    for r in results:
        if "error" in r:
            continue
        print(r["record"])
        for h in r["reports"]:
            print(f"  {h['similarity']:+.4f}  [{h['source_id']}]  {h['report']}")
    return status


def cmd_info(args) -> int:
    try:
        model = _load_model(args.model)
    except (ValueError, OSError, RuntimeError) as err:
        _error("info", err)
        return EXIT_SETUP_ERROR
    info = model.info()
    index_dir = Path(model.source) / "index" if model.source else None
    info["index"] = None
    if index_dir is not None and (index_dir / "index.json").is_file():
        meta = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))
        info["index"] = {"path": str(index_dir), "reports": meta.get("count")}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"model         {info['source']}")
    print(f"weights       sha256 {str(info['weights_sha256'])[:16]}...  {info['parameters']:,} parameters")
    m = info["model"]
    print(f"ECG encoder   ResNet1d ({'-'.join(map(str, m['layers']))} blocks, width {m['width']}), "
          f"{m['in_leads']} leads")
    pp = info["preprocess"]
    print(f"input         {pp['window_s']:g} s windows at {pp['fs']:g} Hz (stride {pp['stride_s']:g} s), "
          f"band-pass {pp['highpass_hz']:g}-{pp['lowpass_hz']:g} Hz, normalise {pp['normalise']}")
    print(f"text encoder  {info['text_model']} (frozen) -> {info['embedding_dim']}-d shared space, "
          f"temperature {info['temperature']:.4f}")
    training = info["training"] or {}
    print("training      " + (", ".join(f"{k}={v}" for k, v in training.items() if not isinstance(v, (dict, list)))
                              or "no training summary in this checkpoint"))
    print(f"index         " + (f"{info['index']['reports']} reports at {info['index']['path']}"
                               if info["index"] else "none"))
    return 0
