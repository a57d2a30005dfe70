"""How often does a rate statement stand out against the measured heart rate? (the model card's limit: the
model reads shapes, not numbers; the Reader, Compare, Batch and the PDF say so when it happens)

    METS_DATA_DIR=DATA .venv/bin/python scripts/rate_checks.py [--weights weights] [--first 31]

For the first N PTB-XL records of the data folder's records100/ (ids in order), ranks the four rate statements
and sinus rhythm as the Reader does, measures the heart rate as the Reader does, and prints each record where
`RankingView.rate_disagreements` has something to say (the rate half of the page's measurement check;
within `knowledge.RATE_MARGIN_BPM` of a bound it says nothing), then the count. A count of what the page says, not a
score: most of these records are training ECGs.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.ranking import build_view, short_length  # noqa: E402
from mets_core import METS, read_ecg  # noqa: E402
from mets_core.knowledge import rate_bounds  # noqa: E402
from mets_core.measure import measure  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=str(Path(__file__).resolve().parent.parent / "weights"))
    ap.add_argument("--first", type=int, default=31, help="how many records, in id order")
    args = ap.parse_args(argv)
    data = Path(os.environ.get("METS_DATA_DIR", "../shared/data"))
    records = sorted((data / "ptbxl" / "records100").glob("*/*_lr.hea"))[:args.first]
    if not records:
        raise SystemExit(f"no PTB-XL records100 records under {data}: set METS_DATA_DIR")
    model = METS.from_pretrained(args.weights)
    phrases = [*rate_bounds(), "sinus rhythm"]
    said = 0
    for path in records:
        ecg = read_ecg(path)
        view = build_view(model.rank(ecg, phrases), phrases, short_length(model, ecg))
        words = view.rate_disagreements(measure(ecg).heart_rate_bpm)
        if words:
            said += 1
            print(f"{path.stem}: " + " ".join(words))
    print(f"{said} of {len(records)} records (ids {records[0].stem[:5]}-{records[-1].stem[:5]}): a rate statement "
          f"stands out against the measured heart rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
