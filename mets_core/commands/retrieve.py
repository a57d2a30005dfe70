"""`mets retrieve`: the reports of the index nearest to each record (the model folder's index/, or --index).

A record gives at most one hit, reports that differ only in their numbers are one hit, and reports near every ECG
are ranked down (``--all-hits``: the plain nearest reports by cosine; `ReportIndex.search_embedding`'s `distinct`
and `rank_hubs_down`). A hit whose source is the query record itself (the index holds windows of the open
databases, so `mets retrieve mitdb/208` finds one of 208's own windows) is tagged "(this record)"
(``this_record`` in JSON)."""
from __future__ import annotations

import json
from pathlib import Path

from ..cli import COMMANDS
from .dataset import DatasetRun
from .model_loading import load_index, load_model
from .options import add_dataset_options, add_model_options, at_least_one


def register(subparsers) -> None:
    p = subparsers.add_parser("retrieve", help=COMMANDS["retrieve"][0],
                              description="The reports of the model's report index (its index/ folder, or "
                                          "--index) nearest to each record's ECG, by cosine similarity in the "
                                          "shared space: what reports of similar ECGs said, not a diagnosis. A "
                                          "hit from the record itself (the index holds windows of the open "
                                          "databases) is marked '(this record)'.")
    p.add_argument("-k", type=at_least_one("-k"), default=10, help="number of reports (default 10)")
    p.add_argument("--index", metavar="DIR", default=None, help="index folder (default: MODEL/index)")
    p.add_argument("--all-hits", action="store_true",
                   help="the plain nearest reports by cosine: by default a record gives at most one hit, reports "
                        "that differ only in their numbers are one hit, and reports near every ECG are ranked down")
    add_dataset_options(p, "write the hits: .csv or .parquet (one row per record, its hits as JSON in the "
                           "'reports' column), or .jsonl (one line per record)")
    add_model_options(p)
    p.set_defaults(func=cmd_retrieve)


def cmd_retrieve(args) -> int:
    run = DatasetRun.start(args, ["record", "error", "reports"])
    if isinstance(run, int):
        return run
    try:
        model = load_model(args.model, run.reader.workers)
        index = load_index(model, args.index)
    except BaseException as err:     # a setup error: one line, exit 2; an interrupt: raised again
        return run.setup_failed("retrieve", err)

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=args.batch_size, model_input=prepared)
        return [{"reports": [{"report": h.report, "similarity": h.similarity, "source_id": h.source_id,
                             "n_ecgs": getattr(h, "n_ecgs", 1), "sources": list(getattr(h, "sources", ()))}
                             for h in index.search_embedding(e, k=args.k, distinct=not args.all_hits,
                                                             rank_hubs_down=not args.all_hits)]}
                for e in emb]

    hits_as_text = args.out is not None and Path(args.out).suffix.lower() != ".jsonl"
    results = run.score(score, lambda record, result: _retrieve_row(record, result, hits_as_text),
                        finish=_tag_own_record)
    return run.answer(results, _print_hits, ensure_ascii=False)


def is_this_record(record: str, source_id: str) -> bool:
    """Whether an index source id ('mitdb/208:600') is a window of the query `record` (a path such as
    '.../mitdb/208' or '.../mitdb/208.hea'): the same database (a folder of the path) and record name."""
    from ..index import parse_source_id, record_key
    database, name, _ = parse_source_id(source_id)
    if not database or not name:
        return False
    path = Path(record)
    folders = {part.lower() for part in path.absolute().parts[:-1]}
    stem = path.name[: -len(path.suffix)] if path.suffix.lower() in (".hea", ".dat", ".mat", ".npy", ".npz") \
        else path.name
    return database.lower() in folders and record_key(stem) == record_key(name.rsplit("/", 1)[-1])


def _tag_own_record(record: str, result: dict) -> dict:
    """The result with each hit from the query record itself marked ``this_record``."""
    for hit in result.get("reports", []):
        if is_this_record(record, hit["source_id"]):
            hit["this_record"] = True
    return result


def _retrieve_row(record: str, result: dict, hits_as_text: bool) -> dict:
    """An --out row, the same in every format: ``error`` empty for a record answered, ``reports`` empty (no
    value) for a record that was not, since an empty list would read as "answered, no hits". The hits are one
    JSON cell in .csv and .parquet (`hits_as_text`), a list in a .jsonl line."""
    if "error" in result:
        return {"record": record, "error": result["error"], "reports": None}
    hits = result.get("reports", [])
    return {"record": record, "error": "", "reports": json.dumps(hits, ensure_ascii=False) if hits_as_text else hits}


def _print_hits(r: dict) -> None:
    print(r["record"])
    for h in r["reports"]:
        more = h.get("n_ecgs", 1) - 1
        # n_ecgs counts 10-s strips (PTB-XL ECGs, windows of longer recordings): several can be one recording's
        many = f" and {more} more strip{'s' if more > 1 else ''} ({', '.join(h['sources'])})" if more > 0 else ""
        own = " (this record)" if h.get("this_record") else ""
        print(f"  {h['similarity']:+.4f}  [{h['source_id']}{many}]{own}  {h['report']}")
