"""The corpus split of the previous default model (commit 0835d45), recomputed without reading any signal.

Run it from a checkout of that commit, on the same data folder, restricted to what that model could see of
PTB-XL (the five 500 Hz records):
    git worktree add /tmp/old 0835d45 && cd /tmp/old && PYTHONPATH=. python /path/to/scripts/old_split.py DATA OUT.json
The split is decided by the builder's first pass (headers and annotations), so it equals the one the old model
trained with (2,005 patients, 421 validation: the old model card's numbers). scripts/old_vs_new.py reads OUT.json.
"""
import json, sys
from collections import Counter, defaultdict
from pathlib import Path
from mets_core.corpus.build import BuildOptions, plan_corpus
from mets_core.corpus.sources import load_label_maps
from mets_core.corpus.split import ALL as ALL_WINDOWS, split_patients
from mets_core.corpus.vocabulary import Vocabulary
opts = BuildOptions(records={"ptbxl": {"6000", "6001", "6002", "6003", "6004"}})
vocab, maps = Vocabulary.load(), load_label_maps()
scans, absent, specs, plans = plan_corpus(Path(sys.argv[1]), opts, vocab, maps, verbose=False)
pw = defaultdict(Counter)
for p in plans:
    spec = specs[p.spec]
    pw[spec.patient].update(p.labels + [f"source:{spec.source}", ALL_WINDOWS])
side = split_patients(pw, opts.val_fraction, opts.seed)
json.dump(side, open(sys.argv[2], 'w'))
print(Counter(side.values()))
