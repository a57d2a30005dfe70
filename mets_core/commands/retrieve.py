"""`mets retrieve`: the reports of the index nearest to each record (the model folder's index/, or --index)."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli import COMMANDS
from .dataset import DatasetRun
from .errors import SETUP_ERRORS
from .model_loading import load_index, load_model
from .options import add_dataset_options, add_model_options


def register(subparsers) -> None:
    p = subparsers.add_parser("retrieve", help=COMMANDS["retrieve"][0])
    p.add_argument("-k", type=int, default=10, help="number of reports (default 10)")
    p.add_argument("--index", metavar="DIR", default=None, help="index folder (default: MODEL/index)")
    add_dataset_options(p, "write the hits: .csv (one row per record and hit), .jsonl or .parquet")
    add_model_options(p)
    p.set_defaults(func=cmd_retrieve)


def cmd_retrieve(args) -> int:
    run = DatasetRun.start(args, ["record", "error", "reports"])
    if isinstance(run, int):
        return run
    try:
        model = load_model(args.model, run.reader.workers)
        index = load_index(model, args.index)
    except SETUP_ERRORS as err:
        return run.setup_failed("retrieve", err)

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=max(args.batch_size, 1), model_input=prepared)
        return [{"reports": [{"report": h.report, "similarity": h.similarity, "source_id": h.source_id,
                             "n_ecgs": getattr(h, "n_ecgs", 1), "sources": list(getattr(h, "sources", ()))}
                             for h in index.search_embedding(e, k=args.k)]} for e in emb]

    jsonl = args.out is not None and Path(args.out).suffix.lower() == ".jsonl"
    to_row = (lambda rec, r: r) if jsonl else _retrieve_row
    return run.answer(run.score(score, to_row), _print_hits, ensure_ascii=False)


def _retrieve_row(record: str, result: dict) -> dict:
    """A .csv or .parquet row: the hits as one JSON cell (a .jsonl line is the result itself)."""
    return {"record": record, "error": result.get("error", ""),
            "reports": json.dumps(result.get("reports", []), ensure_ascii=False)}


def _print_hits(r: dict) -> None:
    print(r["record"])
    for h in r["reports"]:
        many = f" and {h['n_ecgs'] - 1} more ECGs ({', '.join(h['sources'])})" if h.get("n_ecgs", 1) > 1 else ""
        print(f"  {h['similarity']:+.4f}  [{h['source_id']}{many}]  {h['report']}")
