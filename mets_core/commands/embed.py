"""`mets embed`: the L2-normalised ECG embeddings (the model's shared space) of records, written to one .npz
(arrays 'embeddings', 'records', 'failed_records') or .parquet file, for your own classifiers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..cli import COMMANDS
from .dataset import DatasetRun
from .errors import SETUP_ERRORS, usage
from .model_loading import load_model
from .options import add_dataset_options, add_model_options
from .output import check_out

EMBEDDING_SUFFIXES = (".npz", ".parquet")


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help=COMMANDS["embed"][0],
                              description="L2-normalised ECG embeddings (the model's shared space), one row "
                                          "per readable record.")
    add_dataset_options(p, "output file: .npz (arrays 'embeddings', 'records') or .parquet")
    add_model_options(p)
    p.set_defaults(func=cmd_embed)


def cmd_embed(args) -> int:
    if args.out is None:
        raise SystemExit(usage("embed needs --out FILE (.npz or .parquet)"))
    check_out(args.out, EMBEDDING_SUFFIXES)
    run = DatasetRun.start(args, None)          # no row writer: the file is written once, at the end
    if isinstance(run, int):
        return run
    try:
        model = load_model(args.model, run.reader.workers)
    except SETUP_ERRORS as err:
        return run.setup_failed("embed", err)

    def score(ecgs, prepared):
        emb = model.embed_ecg(ecgs, batch_size=max(args.batch_size, 1), model_input=prepared)
        return [{"embedding": e} for e in emb]

    results = run.score(score)
    names = [r["record"] for r in results if "embedding" in r]
    failed = [r["record"] for r in results if "error" in r]
    out = Path(args.out)
    matrix = _write(out, names, [r["embedding"] for r in results if "embedding" in r], failed,
                    model.model.cfg.proj_dim)
    print(f"mets: {len(names)} embeddings ({matrix.shape[1]}-d) written to {out}; {len(failed)} records failed",
          file=sys.stderr)
    return run.status


def _write(out: Path, names: list[str], vectors: list, failed: list[str], dim: int):
    """The embeddings (n, dim) float32 written to `out` (.npz or .parquet) under a temporary name, then moved."""
    import numpy as np
    matrix = np.stack(vectors).astype(np.float32) if vectors else np.empty((0, dim), np.float32)
    tmp = out.with_name(out.name + ".tmp" + out.suffix)
    if out.suffix.lower() == ".npz":
        np.savez(tmp, embeddings=matrix, records=np.array(names, dtype=str),
                 failed_records=np.array(failed, dtype=str))
    else:
        import pandas as pd
        frame = pd.DataFrame({"record": names, "embedding": [v.tolist() for v in matrix]})
        frame.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    return matrix
