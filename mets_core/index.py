"""Report retrieval: the nearest reports of a corpus to an ECG (or to a text), by cosine similarity.

An index is report texts + their L2-normalised embeddings (made with one METS model) + source ids.
Saved as `embeddings.safetensors` (float16 or float32; with each report's hub penalty when the index was given
reference ECGs) + `index.json` (reports, ids, the weights hash of the model that made it); no pickle. Search is
one matrix-vector product and an argpartition: top-10 of 50,000
reports is a few milliseconds.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .checkpoint import CheckpointError, _check_safetensors_header, atomic_folder
from .ecg import ECG

if TYPE_CHECKING:
    from .pipeline import METS

EMBEDDINGS_FILE = "embeddings.safetensors"
INDEX_FILE = "index.json"
INDEX_DIR = "index"          # a weights folder's report index (what `mets export` writes, what loads by default)
# A report near every ECG ("hub") crowds the similar-report lists. Ranked by CSLS (cross-domain similarity local
# scaling): 2 cos(ecg, report) - the report's mean cosine to its HUB_NEIGHBOURS nearest reference ECGs. Chosen on
# the validation windows, cross-fitted by patient halves (benchmarks/retrieval_hubness.py): the query's rhythm
# in the top 5 0.776 -> 0.844 (K 50: 0.833; pooled over both halves' queries), statement overlap unchanged
# (Jaccard@10 0.431 -> 0.427).
HUB_NEIGHBOURS = 10


class ReportIndexError(ValueError):
    """An index folder is missing, damaged, or was built with another model."""


class Hit(NamedTuple):
    report: str
    similarity: float
    source_id: str           # the first ECG with this text (database/record:start_s, `format_source_id`)
    n_ecgs: int = 1          # how many 10-s ECGs / strips of the indexed corpora have exactly this text
    sources: tuple[str, ...] = ()   # the databases they come from


class SourceId(NamedTuple):
    """What a source id names: 'mitdb/208:600' -> ('mitdb', '208', 600.0)."""
    database: str            # the corpus database: 'mitdb', 'ptbxl'
    record: str              # the record in it, possibly a path: '208', 'data/7' ('' when the id names none)
    start_s: float | None    # where in the record its window starts; None when the id gives no number


def format_source_id(database: str, record: str, start_s: float) -> str:
    """The id of a corpus window: ('mitdb', '208', 600.0) -> 'mitdb/208:600' (what `parse_source_id` reads)."""
    return f"{database}/{record}:{float(start_s):g}"


def parse_source_id(source_id: str) -> SourceId:
    """The parts of an index source id: 'mitdb/208:600' -> ('mitdb', '208', 600.0), 'ptbxl/1:0' -> ('ptbxl',
    '1', 0.0), 'ludb/data/7' -> ('ludb', 'data/7', None). The start follows the last ':' (or an '@'); a '#' and
    what follows it are no part of the id; an id without '/' is a database alone ('r1' -> ('r1', '', None))."""
    sid = str(source_id).split("#", 1)[0]
    start_s = None
    if "@" in sid or ":" in sid:
        sid, _, tail = sid.partition("@") if "@" in sid else sid.rpartition(":")
        try:
            start_s = float(tail)
        except ValueError:               # an index built with other ids: a start that is not a number
            start_s = None
    database, _, record = sid.partition("/")
    return SourceId(database, record, start_s)


def record_key(name: str) -> str:
    """A record's name as source ids spell it: its file name without PTB-XL's _lr / _hr and, for a number, its
    leading zeros ('records500/06000/06000_hr' -> '6000', '00001_lr' -> '1', '101' -> '101', 'S0010_re' ->
    's0010_re'): the one way `mets retrieve` and the trainer's exposure check match a record to the corpus."""
    stem = re.sub(r"_(lr|hr)$", "", Path(str(name)).name.lower())
    return (stem.lstrip("0") or "0") if stem.isdigit() else stem


def _database(source_id: str) -> str:
    return parse_source_id(source_id).database


def record_of(source_id: str) -> str:
    """The record a source id's window is from: 'mitdb/203:1530' -> 'mitdb/203' (PTB-XL's table report and
    its corpus window, 'ptbxl/443:0', are one record)."""
    database, record, _ = parse_source_id(source_id)
    return f"{database}/{record}" if record else database


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def wording_of(report: str) -> str:
    """A report with its numbers taken out: "normal sinus rhythm at 61 beats per minute." and "... at 65 ..."
    say the same thing of two ECGs with different rates."""
    return " ".join(_NUMBER.sub("#", report.lower()).split())


def hub_penalty(reports: np.ndarray, ecgs: np.ndarray, k: int = HUB_NEIGHBOURS) -> np.ndarray:
    """Each report embedding's mean cosine to its `k` nearest ECG embeddings (both L2-normalised, (n, d))."""
    ecgs = np.asarray(ecgs, dtype=np.float32)
    k = max(1, min(int(k), len(ecgs)))
    penalty = np.empty(len(reports), dtype=np.float32)
    for a in range(0, len(reports), 2048):                  # 2048 x n similarities at a time
        sims = np.asarray(reports[a:a + 2048], dtype=np.float32) @ ecgs.T
        penalty[a:a + 2048] = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
    return penalty


def first_distinct(order, source_ids: list[str], wordings: list[str], k: int) -> list[int]:
    """The first `k` entries of `order` (indices, best first) whose record (`record_of` their source id) and
    wording (`wording_of` their report) no earlier one had."""
    records, seen, chosen = set(), set(), []
    for i in order:
        record, wording = record_of(source_ids[i]), wordings[i]
        if record in records or wording in seen:
            continue
        records.add(record)
        seen.add(wording)
        chosen.append(int(i))
        if len(chosen) == k:
            break
    return chosen


def _damage(meta, tensors: dict[str, np.ndarray]) -> str | None:
    """What is wrong with an index folder's index.json (`meta`) and embeddings (`tensors`), in words; None when
    they fit together: a hand-edited or half-copied index is named on loading, not met as a crash of a search."""
    if not isinstance(meta, dict):
        return f"{INDEX_FILE} holds a JSON {type(meta).__name__.replace('str', 'string')}, not an object"
    emb = tensors["embeddings"]
    if emb.ndim != 2 or not np.issubdtype(emb.dtype, np.floating):
        return f"the embeddings are {emb.dtype} of shape {emb.shape}, not one row of numbers per report"
    if not all(np.isfinite(t).all() for t in tensors.values() if np.issubdtype(t.dtype, np.floating)):
        return "the embeddings hold values that are not numbers (NaN or infinite)"
    n = len(emb)

    def texts(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    lists = {"reports": (texts, "texts"), "source_ids": (texts, "texts"),
             "counts": (lambda v: isinstance(v, list) and all(isinstance(c, int) and not isinstance(c, bool) and c >= 1
                                                               for c in v), "whole numbers of ECGs"),
             "sources": (lambda v: isinstance(v, list) and all(texts(x) for x in v), "lists of database names")}
    for key, (fits, words) in lists.items():
        value = meta.get(key)
        if value is None and key != "reports":       # an index written before the field: its default
            continue
        if not fits(value):
            return f"{key} must be a list of {words}"
        if len(value) != n:
            return f"{n} embeddings for {len(value)} {key}"
    if not isinstance(meta.get("weights_sha256"), (str, type(None))):
        return "weights_sha256 must be the text of a SHA-256"
    return None


class ReportIndex:
    """A corpus of report texts and their embeddings, searched for the reports nearest to an ECG (or a text).
    Get one with `ReportIndex.load(folder, model)` (the shipped weights/index, or what `mets export` writes) or
    `ReportIndex.build(model, reports, source_ids)`; `search` ranks as `mets retrieve` and the dashboard do.

        index = ReportIndex.load("weights/index", model=METS.from_pretrained())
        for hit in index.search(read_ecg("DATA/ludb/data/1.hea"), k=3):
            print(hit.source_id, round(hit.similarity, 3), hit.report)
    """

    def __init__(self, reports: list[str], embeddings: np.ndarray, source_ids: list[str] | None = None,
                 model: "METS | None" = None, weights_sha256: str | None = None,
                 counts: list[int] | None = None, sources: list[list[str]] | None = None,
                 hub_penalty: np.ndarray | None = None):
        emb = np.asarray(embeddings, dtype=np.float32)
        reports = [str(r) for r in reports]
        source_ids = [str(s) for s in source_ids] if source_ids is not None else [str(i) for i in range(len(reports))]
        if emb.ndim != 2 or emb.shape[0] != len(reports) or len(source_ids) != len(reports):
            raise ReportIndexError(f"an index needs one embedding row and one source id per report: {len(reports)} "
                              f"reports, embeddings {emb.shape}, {len(source_ids)} source ids")
        self.reports = reports
        self.embeddings = np.ascontiguousarray(emb)
        self.source_ids = source_ids
        self.counts = [int(c) for c in counts] if counts is not None else [1] * len(reports)
        self.sources = [tuple(x) for x in sources] if sources is not None else [(_database(i),) for i in source_ids]
        self.model = model                    # the METS used by search() when none is passed
        self.weights_sha256 = weights_sha256 if weights_sha256 is not None else getattr(model, "weights_sha256", None)
        self._wordings: list[str] | None = None    # wording_of each report, made by the first distinct search
        # each report's mean cosine to its nearest reference ECGs (set_reference); None: ranked by cosine alone
        self.hub_penalty = None if hub_penalty is None else np.asarray(hub_penalty, dtype=np.float32).reshape(-1)
        if self.hub_penalty is not None and len(self.hub_penalty) != len(reports):
            raise ReportIndexError(f"{len(self.hub_penalty)} hub penalties for {len(reports)} reports")
        if len(self.counts) != len(reports) or len(self.sources) != len(reports):
            raise ReportIndexError(f"an index needs one count and one list of databases per report: {len(reports)} "
                                   f"reports, {len(self.counts)} counts, {len(self.sources)} lists of databases")

    def __len__(self) -> int:
        return len(self.reports)

    def __repr__(self) -> str:
        return f"ReportIndex({len(self)} reports, dim={self.embeddings.shape[1]})"

    @classmethod
    def build(cls, model: "METS", reports: list[str], source_ids: list[str] | None = None,
              cache_dir: str | os.PathLike | None = None) -> "ReportIndex":
        """Embed `reports` with the pretraining template; identical texts become one entry that remembers
        how many ECGs had it, from which databases, and the first one's source id (so a search never returns
        the same text twice). A blank report is no entry (two PTB-XL rows have none; a search would return an
        empty hit). `cache_dir` keeps the frozen text encoder's outputs (so rebuilding after retraining only
        re-runs the cheap projection). An ECG is counted once however often its text comes: PTB-XL's table report
        of an ECG and that ECG's corpus window have one source id ('ptbxl/7:0') and often one text. A missing
        report (None, or NaN as a table gives it) is no entry either, never the text "None" or "nan"."""
        reports = ["" if r is None or isinstance(r, float) and math.isnan(r) else str(r) for r in reports]
        source_ids = [str(s) for s in source_ids] if source_ids is not None else [str(i) for i in range(len(reports))]
        slot: dict[str, int] = {}
        unique, ids, counts, databases = [], [], [], []
        counted: set[tuple[int, str]] = set()      # (text, source id) pairs already counted
        for text, sid in zip(reports, source_ids):
            if not text.strip():
                continue
            k = slot.setdefault(text, len(slot))
            if k == len(unique):                     # first ECG with this text
                unique.append(text)
                ids.append(sid)
                counts.append(0)
                databases.append({})
            if (k, sid) in counted:
                continue
            counted.add((k, sid))
            counts[k] += 1
            databases[k][_database(sid)] = None
        return cls(unique, model.embed_report(unique, cache_dir=cache_dir), ids, model=model, counts=counts,
                   sources=[list(d) for d in databases])

    def set_reference(self, ecg_embeddings: np.ndarray, k: int = HUB_NEIGHBOURS) -> "ReportIndex":
        """Make each report's hub penalty from reference ECG embeddings (L2-normalised, (n, d)): its mean cosine
        to its `k` nearest reference ECGs. `mets export` uses the model's reference ECGs (its validation
        windows)."""
        self.hub_penalty = hub_penalty(self.embeddings, ecg_embeddings, k)
        return self

    # ------------------------------------------------------------------------------------ files

    def save(self, directory: str | os.PathLike, dtype: str = "float16") -> Path:
        """Write the index to the folder `directory` (replaced as a whole, atomically): embeddings.safetensors
        (the embeddings in `dtype`, "float16" halves the size; the hub penalties when set) and index.json (the
        reports, source ids, counts, databases and the weights' SHA-256). Returns the folder; `load` reads it."""
        from safetensors.numpy import save_file
        if dtype not in ("float16", "float32"):
            raise ValueError("dtype must be 'float16' or 'float32'")
        with atomic_folder(directory, marker=INDEX_FILE) as tmp:
            tensors = {"embeddings": self.embeddings.astype(dtype)}
            if self.hub_penalty is not None:
                tensors["hub_penalty"] = self.hub_penalty.astype(np.float32)
            save_file(tensors, str(tmp / EMBEDDINGS_FILE))
            meta = {"format": "mets-report-index", "version": 1, "count": len(self),
                    "dim": int(self.embeddings.shape[1]), "weights_sha256": self.weights_sha256,
                    "reports": self.reports, "source_ids": self.source_ids, "counts": self.counts,
                    "sources": [list(x) for x in self.sources]}
            (tmp / INDEX_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | os.PathLike, model: "METS | None" = None) -> "ReportIndex":
        """The index `save` wrote to the folder `directory`, bound to `model` when given (refused when the
        model's weights are not those that built it: `bind`). Never unpickles; a missing or damaged folder
        raises ReportIndexError saying what is wrong."""
        from safetensors.numpy import load_file
        directory = Path(directory)
        meta_path, emb_path = directory / INDEX_FILE, directory / EMBEDDINGS_FILE
        if not directory.is_dir():
            raise ReportIndexError(f"{directory} does not exist (or is not a folder); give the folder of a report "
                                   f"index (it holds {INDEX_FILE} and {EMBEDDINGS_FILE})")
        if not meta_path.is_file() or not emb_path.is_file():
            raise ReportIndexError(f"{directory} is not a report index (needs {INDEX_FILE} and {EMBEDDINGS_FILE}); "
                              f"build one with ReportIndex.build(model, reports).save(dir)")
        try:
            _check_safetensors_header(emb_path)     # a pickle or torch.save zip is named and refused unread
        except CheckpointError as err:
            raise ReportIndexError(str(err)) from None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            tensors = load_file(str(emb_path))
            emb = tensors["embeddings"]
        except Exception as err:
            raise ReportIndexError(f"{directory}: damaged index ({type(err).__name__}: {err})") from err
        problem = _damage(meta, tensors)
        if problem:
            raise ReportIndexError(f"{directory}: damaged index ({problem}); export the model again (mets export) "
                                   f"or copy the index again from where it came from")
        index = cls(meta["reports"], emb, meta.get("source_ids"), weights_sha256=meta.get("weights_sha256"),
                    counts=meta.get("counts"), sources=meta.get("sources"), hub_penalty=tensors.get("hub_penalty"))
        if model is not None:
            index.bind(model)
        return index

    def bind(self, model: "METS") -> "ReportIndex":
        """Use `model` for queries; refuses a model whose weights differ from the ones that built the index
        (its embeddings would be in another space)."""
        theirs = getattr(model, "weights_sha256", None)
        if self.weights_sha256 and theirs and theirs != self.weights_sha256:
            raise ReportIndexError(f"this index was built with weights {self.weights_sha256[:12]}... but the model "
                              f"has {theirs[:12]}...: rebuild the index with this model")
        if self.embeddings.shape[1] != model.model.cfg.proj_dim:
            raise ReportIndexError(f"index embeddings are {self.embeddings.shape[1]}-d, the model's "
                              f"{model.model.cfg.proj_dim}-d")
        self.model = model
        return self

    # ----------------------------------------------------------------------------------- search

    def search_embedding(self, query: np.ndarray, k: int = 10, distinct: bool = False,
                         rank_hubs_down: bool = False) -> list[Hit]:
        """Top-k reports for an L2-normalised (d,) query embedding, best first. The building block: by default
        the plain nearest reports by cosine (`search` defaults to the product's ranking, both options on).

        `distinct`: each record gives at most one hit (its nearest window), and reports that differ only in
        their numbers are one hit (the nearest): otherwise ten windows of one Holter, or "sinus rhythm at
        61 / 62 / 63 bpm", fill the list. `rank_hubs_down` (an ECG query, an index with reference ECGs): ranked
        by CSLS, 2 cos - the report's hub penalty (HUB_NEIGHBOURS), so that a report near every ECG no longer
        crowds the lists. The dashboard and `mets retrieve` search with both. A Hit's similarity is the cosine."""
        sims = self.embeddings @ np.asarray(query, dtype=np.float32).reshape(-1)
        order_by = 2.0 * sims - self.hub_penalty if rank_hubs_down and self.hub_penalty is not None else sims
        k = max(0, min(int(k), len(sims)))
        if k == 0:
            return []
        pool = k if not distinct else min(len(sims), 50 * k)    # distinct: room for the hits left out
        while True:
            top = np.argpartition(-order_by, pool - 1)[:pool] if pool < len(sims) else np.arange(len(sims))
            top = top[np.argsort(-order_by[top], kind="stable")]
            chosen = self._distinct(top, k) if distinct else top[:k]
            if len(chosen) == k or pool == len(sims):
                break
            pool = min(len(sims), pool * 4)
        return [Hit(self.reports[i], float(sims[i]), self.source_ids[i], self.counts[i], self.sources[i])
                for i in chosen]

    def _distinct(self, order: np.ndarray, k: int) -> list[int]:
        if self._wordings is None:
            self._wordings = [wording_of(r) for r in self.reports]
        return first_distinct(order, self.source_ids, self._wordings, k)

    def search(self, *args, k: int = 10, model: "METS | None" = None, distinct: bool = True,
               rank_hubs_down: bool = True) -> list[Hit]:
        """search(ecg_or_text, k=10) with the bound model, or search(model, ecg_or_text, k=10).

        An ECG goes through embed_ecg; a string is phrased as in pretraining and goes through embed_text.
        Returns Hits (report, similarity, source_id, ...), best first; `distinct` and `rank_hubs_down` as in
        search_embedding (the hub penalty is about ECGs: a text query is ranked by cosine). Both are on by
        default, as `mets retrieve` and the dashboard search: one hit per record and per wording, reports near
        every ECG ranked down; distinct=False, rank_hubs_down=False give the plain nearest reports by cosine
        (`mets retrieve --all-hits`)."""
        args = list(args)
        if args and hasattr(args[0], "embed_ecg"):
            model = args.pop(0)
        if not args:
            raise TypeError("search needs a query: an ECG or a text")
        query = args.pop(0)
        if args:
            k = args.pop(0)
        if model is not None and model is not self.model:
            self.bind(model)
        model = self.model
        if model is None:
            raise TypeError("no model: build/load the index with a model, or call search(model, query, k)")
        if isinstance(query, ECG):
            q = model.embed_ecg(query)[0]
        elif isinstance(query, str):
            if not query.strip():        # a blank text is near some reports too: it would return them as hits
                raise ValueError("a text query must contain some text, e.g. 'atrial fibrillation'")
            q, rank_hubs_down = model.embed_report([query])[0], False
        else:
            raise TypeError(f"query must be an ECG or a str, got {type(query).__name__}")
        return self.search_embedding(q, k, distinct=distinct, rank_hubs_down=rank_hubs_down)
