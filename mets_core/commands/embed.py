"""`mets embed`: the L2-normalised ECG embeddings (the model's shared space) of records, written to one .npz
(arrays 'embeddings', 'records', 'spans', 'failed_records', 'model') or .parquet file (columns record,
embedding, span, model), for your own classifiers."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..cli import COMMANDS
from .dataset import DatasetRun, plural
from .errors import EXIT_SETUP_ERROR, error, usage
from .model_loading import load_model
from .options import add_dataset_options, add_model_options
from .output import check_out, write_parquet

EMBEDDING_SUFFIXES = (".npz", ".parquet")


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help=COMMANDS["embed"][0],
                              description="L2-normalised ECG embeddings (the model's shared space), one row "
                                          "per readable record.")
    add_dataset_options(p, "output file: .npz (arrays 'embeddings', 'records', 'spans', 'failed_records', "
                           "'model') or .parquet")
    add_model_options(p, json_help="print the summary (file, counts, failed records, model) as JSON on stdout")
    p.set_defaults(func=cmd_embed)


def cmd_embed(args) -> int:
    if args.out is None:
        raise SystemExit(usage("embed needs --out FILE (.npz or .parquet)"))
    check_out(args.out, EMBEDDING_SUFFIXES)
    if args.resume:
        raise SystemExit(usage("embed writes its file once, at the end: --resume is for rank and retrieve; run "
                               "embed on the records still missing, with another --out"))
    run = DatasetRun.start(args, None)          # no row writer: the file is written once, at the end
    if isinstance(run, int):       # no name matched a record (each said on its own line): the model is not loaded
        print(f"mets: nothing was written to {args.out}: none of the records named was found", file=sys.stderr)
        return run
    try:
        model = load_model(args.model, run.reader.workers)
    except BaseException as err:     # a setup error: one line, exit 2; an interrupt: raised again
        return run.setup_failed("embed", err)

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=args.batch_size, model_input=prepared)
        return [{"embedding": e} for e in emb]

    results = run.score(score)
    embedded = [r for r in results if "embedding" in r]
    failed = [r["record"] for r in results if "error" in r]
    out = Path(args.out)
    try:
        matrix = _write(out, embedded, failed, model.model.cfg.proj_dim, run.model or "")
    except OSError as err:      # checked before the run (check_out); the disk filled up or went away since
        error(str(out), f"the embeddings could not be written ({err.strerror or err}); free some space or "
                        f"write them elsewhere, and run the command again")
        return EXIT_SETUP_ERROR
    if args.json:
        print(json.dumps({"out": str(out), "embeddings": len(embedded), "dim": int(matrix.shape[1]),
                          "failed_records": failed, "model": run.model}, indent=2, ensure_ascii=False))
    else:
        print(f"mets: {plural(len(embedded), 'embedding')} ({matrix.shape[1]}-d) written to {out}; "
              f"{plural(len(failed), 'record')} failed", file=sys.stderr)
    return run.status


def _write(out: Path, embedded: list[dict], failed: list[str], dim: int, model: str):
    """The embeddings (n, dim) float32 written to `out` (.npz or .parquet) with their records, spans and the
    model, under a temporary name, then moved."""
    import numpy as np
    names, spans = [r["record"] for r in embedded], [r["span"] for r in embedded]
    matrix = np.stack([r["embedding"] for r in embedded]).astype(np.float32) if embedded else \
        np.empty((0, dim), np.float32)
    if out.suffix.lower() != ".npz":
        import pyarrow as pa
        # typed: with every record failed, every column was written as numbers (pandas' guess for no rows)
        write_parquet(out, {"record": pa.string(), "embedding": pa.list_(pa.float64()), "span": pa.string(),
                            "model": pa.string()},
                      [{"record": n, "embedding": v.tolist(), "span": sp, "model": model}
                       for n, v, sp in zip(names, matrix, spans)])
        return matrix
    tmp = out.with_name(out.name + ".tmp" + out.suffix)       # np.savez adds .npz to a name without it
    try:
        np.savez(tmp, embeddings=matrix, records=np.array(names, dtype=str), spans=np.array(spans, dtype=str),
                 failed_records=np.array(failed, dtype=str), model=np.array(model, dtype=str))
        os.replace(tmp, out)
    except BaseException:       # a full disk, Ctrl-C: no half-written file left beside the one asked for
        tmp.unlink(missing_ok=True)
        raise
    return matrix
