"""`METS` (the pipeline facade): the user-facing model. ECG(s) and text in, L2-normalised embeddings in one space out.

    model = METS.from_pretrained()                   # the repo's weights/ (or $METS_WEIGHTS, or a folder)
    model.rank(ecg, ["atrial fibrillation", "sinus rhythm"])   # -> [Match(prompt, similarity, probability, ...)]

It bundles what a checkpoint needs to be used the way it was trained: the ECGTextModel weights, the frozen
text encoder's name, the preprocessing settings and the prompt templates (all in config.json).

A thin facade over small parts, each tested on its own:
  - preprocessing: `preprocess.to_model_input` (resample, filter, normalise, windows);
  - the network: `model.ECGTextModel` (ECG encoder chosen by name, two projections);
  - caches and their one lock: `cache.py` (ECG embeddings keyed by `ECG.content_hash()`, prompt embeddings,
    raw text embeddings shipped with the weights so known prompts never load the text model);
  - saliency: `explain.py`;
  - what prompts stand for and how they validated: `knowledge.py`.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .cache import TEXT_CACHE_DIR, EmbeddingCache, TextEmbeddingCache
from .checkpoint import (CONFIG_FILE, WEIGHTS_ENV, CheckpointError, NoCheckpointError, check_config,
                         default_weights_dir, load_checkpoint, load_state_dict_checked, read_config, save_checkpoint)
from .ecg import ECG
from .explain import Saliency, explain, record_embedding
from .knowledge import (REFERENCE_FILE, Expansion, Knowledge, StoodOut, negation, percentile, stands_out,
                        too_short)
from .model import ECGTextModel, ModelConfig, model_config
from .preprocess import PreprocessConfig, model_lead_mask, to_model_input
from .prompts import (build_prompt_embeddings, check_templates, clean_phrase, default_templates, distinct_prompts,
                      ensemble, fill, format_report, l2_normalise, load_template_set, template_set_name,
                      templates_from_config, templates_to_config)
from .text import DEFAULT_TEXT_MODEL, TextEncoder, resolve_text_model, write_shard

__all__ = ["METS", "Match", "Saliency", "default_weights_dir", "load_reference", "same_kind_reference"]

MIN_REFERENCE = 50          # fewer reference ECGs of the upload's lead-set kind: compare with all of them


def same_kind_reference(reference_n_leads: np.ndarray, n_leads: int) -> np.ndarray:
    """Which reference ECGs (their lead counts `reference_n_leads`) an ECG of `n_leads` leads is judged against
    (a boolean mask): those of the same kind of lead set (12-lead vs fewer) when there are at least
    MIN_REFERENCE of them, else all. A 2-lead Holter's similarities do not compare with 12-lead ECGs'."""
    reference_n_leads = np.asarray(reference_n_leads)
    same = (reference_n_leads == 12) == (int(n_leads) == 12)
    return same if same.sum() >= MIN_REFERENCE else np.ones(len(reference_n_leads), dtype=bool)


def load_reference(folder: Path, dim: int) -> dict | None:
    """reference.safetensors of a weights folder -> {"embeddings": (n, dim) float32 unit rows, "n_leads"}."""
    path = Path(folder) / REFERENCE_FILE
    if not path.is_file():
        return None
    from safetensors.numpy import load_file
    try:
        data = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - a damaged optional file must say so, not crash
        raise CheckpointError(f"{path} is not a readable safetensors file ({err}); re-export the weights") from None
    emb, n_leads = data.get("embeddings"), data.get("n_leads")
    # one lead count per reference ECG, and numbers only: else every percentile is 0 or a ranking crashes
    if emb is None or emb.ndim != 2 or emb.shape[1] != dim or n_leads is None or n_leads.shape != (len(emb),) \
            or not np.isfinite(emb.astype(np.float32)).all():
        raise CheckpointError(f"{path} must hold 'embeddings' (n, {dim}) and 'n_leads' (n,), numbers only; "
                              f"re-export the weights")
    return {"embeddings": l2_normalise(emb.astype(np.float32)), "n_leads": data["n_leads"].astype(np.int64)}


def texts_given(values, what: str, example: str) -> list[str]:
    """`values` (a list, tuple or other iterable of texts) as a list, each checked to be text: a missing value
    of a table (None, NaN) or a number would otherwise be embedded as the words "None" or "nan" and scored like
    any phrase. A single string is refused too (it would be read as a list of its characters). `what` names one
    entry ("prompt", "text", "report") and `example` shows one in the message."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"give the {what}s as a list, e.g. [{example!r}], not a single {what}")
    values = list(values)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"each {what} must be text, e.g. {example!r}; {what} {i + 1} of {len(values)} is "
                            f"{v!r}" + (" (a missing value?)" if v is None or isinstance(v, float) and math.isnan(v)
                                        else ""))
    return values


def windows_per_batch(batch_size) -> int:
    """`batch_size` of `embed_ecg` and `saliency` (how many windows go through the network at a time), checked."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of windows, at least 1; got {batch_size!r}")
    return batch_size


@dataclass(frozen=True)
class Match:
    """One prompt of a ranking: what `METS.rank` returns, best first (the fields below). `similarity` is the
    cosine, `percentile` where it falls among the reference ECGs, `stands_out` the rule the dashboard and the
    CLI crown a phrase by; none of them is a diagnosis.

        best = model.rank(ecg, ["sinus rhythm", "atrial fibrillation"])[0]
        best.prompt, best.percentile, best.stands_out
    """
    prompt: str          # as given
    similarity: float    # cosine between the ECG and the prompt embedding, in [-1, 1]
    probability: float | None   # softmax over the ranked prompts of this call (known, not negated), at the
                                # model's temperature: a relative view; None for a prompt that is not ranked
    percentile: float | None = None      # 0-100: share of reference ECGs (validation ECGs the model was not
                                         # trained on) less similar to this prompt; None: no reference stored
    known: bool | None = None            # the phrase is close to what the model learned (None: undetermined)
    validation_auc: float | None = None  # the model's validation AUC for the statement/class it maps to
    stood_out: "StoodOut | None" = None  # how often it stood out for validation patients with that statement
                                         # and without it, on ECGs of this one's kind of lead set
                                         # (Knowledge.stood_out)
    expansion: tuple[str, ...] = ()      # the member statements it was scored as; () = the phrase as typed
    statement: str | None = None         # the statement or class it maps to
    negates: str | None = None           # a negated prompt ("no atrial fibrillation"): the finding it negates,
                                         # which every score above is of (knowledge.negation); never ranked

    @property
    def stands_out(self) -> bool:
        """Known (not None: undetermined), not negated, and at or above STANDS_OUT_PERCENTILE of the reference
        ECGs: knowledge.stands_out, the rule the dashboard and the CLI apply too."""
        return stands_out(self.percentile, self.known, self.negates is not None)


class METS:
    """The model: ECGs and text in, L2-normalised embeddings in one space out, and the rankings, percentiles
    and saliency built on them. Get one with `METS.from_pretrained()` (the shipped weights/, $METS_WEIGHTS or
    a folder) or `METS.random_init()` (untrained: tests, chance-level floors); one instance may be shared by
    threads.

        model = METS.from_pretrained()
        ecg = read_ecg("DATA/ludb/data/1.hea")
        model.rank(ecg, ["sinus rhythm", "atrial fibrillation"])    # [Match, ...] best first
    """

    def __init__(self, model: ECGTextModel, preprocess_cfg: PreprocessConfig | None = None,
                 text_model: str | None = None, templates: dict | None = None,
                 text_encoder: TextEncoder | None = None, text_max_length: int = 128,
                 training: dict | None = None, source: str | None = None, weights_sha256: str | None = None,
                 knowledge: Knowledge | None = None, reference: dict | None = None):
        # One METS is shared by all dashboard sessions (threads): the caches' lock also guards the lazy text
        # encoder and the forwards, which run one at a time (on 2 cores that costs nothing).
        self.cache = EmbeddingCache()
        self._lock = self.cache.lock
        self.model = model.eval()
        self.cache.watch(self.model)
        self.preprocess_cfg = preprocess_cfg or PreprocessConfig()
        self.text_model = text_model or (text_encoder.name if text_encoder else DEFAULT_TEXT_MODEL)
        self.text_max_length = text_max_length
        name = text_encoder.name if text_encoder else resolve_text_model(self.text_model)[0]
        shipped = [Path(source) / TEXT_CACHE_DIR] if source else []
        self.text_cache = TextEmbeddingCache(name, text_max_length, shipped)
        self.templates = templates or default_templates()
        self.training = training or {}
        self.source = source                   # folder it was loaded from, if any
        self.weights_sha256 = weights_sha256   # identifies the weights (an index remembers it)
        self._text_encoder = text_encoder
        if text_encoder is not None:
            self._check_text_dim(text_encoder)
        # what prompts stand for and how they validated (knowledge.py); reference ECG embeddings for percentiles
        self.knowledge = knowledge or Knowledge.load(None)
        self.reference = reference          # {"embeddings": (n, d) float32, "n_leads": (n,) int} or None

    # ----------------------------------------------------------------------------- construction

    @classmethod
    def random_init(cls, config: dict | str | os.PathLike | None = None, seed: int = 0,
                    text_encoder: TextEncoder | None = None) -> "METS":
        """An untrained model (for tests and chance-level floors). `config`: the name of a shipped
        configuration ("resnet1d18", see model.model_config), a METS config dict or a JSON file
        ({"model": {...}, "preprocess": {...}, "text_model": ...}); None = the defaults."""
        if isinstance(config, str) and not config.endswith(".json") and not Path(config).is_file():
            config = model_config(config)
        elif config is not None and not isinstance(config, dict):
            config = json.loads(Path(config).read_text(encoding="utf-8"))
        config = config or {}
        check_config(config, "the model configuration")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = ECGTextModel(ModelConfig.from_dict(config.get("model")))
        return cls(model, PreprocessConfig.from_dict(config.get("preprocess")),
                   text_model=config.get("text_model"), templates=templates_from_config(config)[1],
                   text_encoder=text_encoder, text_max_length=config.get("text_max_length") or 128,
                   training=config.get("training"))

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, text_encoder: TextEncoder | None = None
                        ) -> "METS":
        """Load a checkpoint folder (None -> `default_weights_dir()`). Never unpickles; verifies the hash."""
        folder = Path(path) if path is not None else default_weights_dir()
        try:
            config = read_config(folder)
        except NoCheckpointError:
            if path is not None:
                raise
            raise CheckpointError(
                f"no default METS weights at {folder} yet: train a model and save it there "
                f"(METS.save_pretrained), set ${WEIGHTS_ENV} to a checkpoint folder, or pass one") from None
        try:
            model = ECGTextModel(ModelConfig.from_dict(config.get("model")))
            pp = PreprocessConfig.from_dict(config.get("preprocess"))
            _, templates = templates_from_config(config, str(folder / CONFIG_FILE))
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{folder / CONFIG_FILE} describes no valid model: {err}") from err
        state_dict, config = load_checkpoint(folder)
        load_state_dict_checked(model, state_dict, where=str(folder))
        return cls(model, pp, text_model=config.get("text_model"), templates=templates,
                   text_encoder=text_encoder, text_max_length=config.get("text_max_length") or 128,
                   training=config.get("training"), source=str(folder),
                   weights_sha256=config.get("weights_sha256"), knowledge=Knowledge.load(folder),
                   reference=load_reference(folder, model.cfg.proj_dim))

    def config(self) -> dict:
        """What config.json holds for these weights (what `save_pretrained` writes and `random_init` accepts):
        the network ("model"), the preprocessing ("preprocess"), the text model and its max length, the
        template set (with the templates themselves when they are "custom") and the training summary."""
        return {"model": self.model.cfg.to_dict(), "preprocess": self.preprocess_cfg.to_dict(),
                "text_model": self.text_model, "text_max_length": self.text_max_length,
                **templates_to_config(self.templates), "training": self.training}

    def save_pretrained(self, directory: str | os.PathLike, training: dict | None = None,
                        extra_files: dict[str, str | bytes] | None = None) -> Path:
        """Write model.safetensors + config.json (atomically). `training`: a summary stored in the config."""
        if training is not None:
            self.training = dict(training)
        written = save_checkpoint(directory, self.model.state_dict(), self.config(), extra_files)
        self.weights_sha256 = written["weights_sha256"]
        return Path(directory)

    @property
    def templates(self) -> dict:
        """Prompt templates: a template set of mets_core/prompts.json, resolved per label kind."""
        return self._templates

    @templates.setter
    def templates(self, value: dict) -> None:
        # checked here, not at the first rank: the rule a checkpoint's own templates are held to (prompts.py)
        check_templates(value, "METS.templates")
        # prompt embeddings are cached per phrase and depend on the templates: new templates, fresh cache
        self._templates = value
        self._template_set = template_set_name(value)
        self.cache.clear_prompts()

    @property
    def template_set(self) -> str:
        """The name of the active template set (prompts.json "template_sets"; "custom": templates of no
        named set, e.g. an older checkpoint's own). Assign a name to switch sets."""
        return self._template_set

    @template_set.setter
    def template_set(self, name: str) -> None:
        self.templates = load_template_set(name)

    # ------------------------------------------------------------------------------ text encoder

    @property
    def text_encoder(self) -> TextEncoder:
        """Loaded on first use (about a second), so ECG-only work never pays for it."""
        enc = self._text_encoder
        if enc is None:
            # built outside the lock when asked for directly, as the dashboard's warm-up does at start: loading
            # takes seconds, and ranking known prompts (shipped text cache) or ECG-only work must not wait for
            # it. A sentence no cache holds reaches it from `_raw_text`, under the lock, which then holds other
            # callers for that load: hence the warm-up. Two first callers may both build one; the first is kept.
            enc = TextEncoder(self.text_model, max_length=self.text_max_length)
            self._check_text_dim(enc)
            with self._lock:
                if self._text_encoder is None:
                    self._text_encoder = enc
                enc = self._text_encoder
        return enc

    def _check_text_dim(self, enc: TextEncoder) -> None:
        if enc.hidden_size != self.model.cfg.text_dim:
            raise CheckpointError(
                f"text model {enc.name!r} gives {enc.hidden_size}-d embeddings but this model's text "
                f"projection expects {self.model.cfg.text_dim}-d (config model.text_dim)")

    # ------------------------------------------------------------------------------------ caches

    @property
    def cache_size(self) -> int:
        """How many ECG embeddings (and, separately, prompt embeddings) are kept in memory."""
        return self.cache.size

    @cache_size.setter
    def cache_size(self, value: int) -> None:
        self.cache.size = int(value)

    def clear_caches(self) -> None:
        """Forget cached ECG and prompt embeddings. Loading weights and optimizer steps do this by themselves;
        call it after editing the weights in place by hand."""
        self.cache.clear()

    def _raw_text(self, texts: list[str]) -> np.ndarray:
        """Frozen text embeddings (m, text_dim): from memory or the shards shipped with the weights, and
        only for texts found in neither from the text model (loaded on that first miss)."""
        with self._lock:
            found = self.text_cache.get(texts)
            missing = [t for t in dict.fromkeys(texts) if t not in found]
            if missing:
                fresh = self.text_encoder.encode(missing)
                self.text_cache.put(missing, fresh)
                found.update(zip(missing, fresh))
        if not texts:
            return np.empty((0, self.model.cfg.text_dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def prompt_sentences(self) -> list[str]:
        """Every sentence a known prompt (a statement, a class, one of their phrasings or synonyms, a preset)
        is embedded from, for every template kind: what `ship_prompt_cache` precomputes."""
        from .prompts import PRESETS
        phrases = [ph for target in self.knowledge.targets() for member in self.knowledge.expand(target).members
                   for ph in member[1]]
        phrases += self.knowledge.known_phrasings()
        phrases += [p for ps in PRESETS.values() for p in ps]
        out: list[str] = []
        for p in dict.fromkeys(clean_phrase(p) for p in phrases):
            out.append(p)                                          # the bare phrase: known() looks it up
            for kind in self.templates["ensembles"]:
                out += [fill(t, p) for t in ensemble(self.templates, kind)]
        return list(dict.fromkeys(out))

    def ship_prompt_cache(self, folder: str | os.PathLike) -> Path:
        """Write the raw embeddings of `prompt_sentences()` into FOLDER/text_cache (a weights folder), so that
        ranking known prompts with those weights never loads the text model. Keyed by text model and text:
        a changed template or text model is only a miss."""
        sentences = self.prompt_sentences()
        enc = self.text_encoder
        return write_shard(Path(folder) / TEXT_CACHE_DIR, enc.name, enc.max_length, sentences, enc.encode(sentences))

    @contextlib.contextmanager
    def _eval(self):
        """Eval mode for inference, restoring the previous mode (a trainer may hold this model)."""
        was_training = self.model.training
        self.model.eval()
        try:
            yield
        finally:
            self.model.train(was_training)

    # ------------------------------------------------------------------------------------- ECGs

    def _encode_windows(self, x: np.ndarray, mask: np.ndarray, batch_size: int) -> torch.Tensor:
        """(n_win, 12, T) -> (n_win, d) window embeddings (not normalised), in batches."""
        out = []
        with self._eval(), torch.inference_mode():
            for b in range(0, len(x), batch_size):
                out.append(self.model.encode_ecg(torch.from_numpy(x[b:b + batch_size]),
                                                 torch.from_numpy(mask[b:b + batch_size])).float())
        return torch.cat(out)

    def embed_ecg(self, ecg_or_list: ECG | list[ECG], batch_size: int = 64,
                  model_input: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """ECG or list of ECGs -> float32 (n, d), L2-normalised. A record longer than the model window is
        the normalised mean of its sliding-window embeddings.

        model_input: for each ECG, the (windows, masks) that `preprocess.to_model_input(ecg, preprocess_cfg)`
        made of it with this model's `preprocess_cfg` elsewhere (e.g. in a reader process), so they are not
        preprocessed again here."""
        ecgs = [ecg_or_list] if isinstance(ecg_or_list, ECG) else list(ecg_or_list)
        windows_per_batch(batch_size)
        for e in ecgs:
            if not isinstance(e, ECG):
                raise TypeError(f"embed_ecg expects mets_core.ECG objects (see mets_core.read_ecg), "
                                f"got {type(e).__name__}")
        if model_input is not None and (len(model_input) != len(ecgs) or any(
                x.ndim != 3 or x.shape[2] != self.preprocess_cfg.n_samples or m.shape != x.shape[:2]
                for x, m in model_input)):
            raise ValueError(f"model_input must hold one (windows (n, 12, {self.preprocess_cfg.n_samples}), masks "
                             f"(n, 12)) pair per ECG, as preprocess.to_model_input makes with this model's settings")
        keys = [self.cache.ecg_key(e, self.preprocess_cfg) for e in ecgs]
        with self._lock:
            found = self.cache.ecgs(keys)
            todo: dict[str, int] = {}                              # key -> the first ECG with it
            for i, k in enumerate(keys):
                if k not in found:
                    todo.setdefault(k, i)
            pending: list[tuple[str, np.ndarray, np.ndarray]] = []   # (key, windows, their masks)

            def flush() -> None:
                if not pending:
                    return
                z = self._encode_windows(np.concatenate([p[1] for p in pending]),
                                         np.concatenate([p[2] for p in pending]), batch_size)
                start = 0
                for key, w, _ in pending:
                    found[key] = record_embedding(z[start:start + len(w)]).numpy()
                    self.cache.put_ecg(key, found[key])
                    start += len(w)
                pending.clear()

            for key, i in todo.items():         # windows are gathered per ECG: a 24-hour record is 720
                x, m = model_input[i] if model_input is not None else to_model_input(ecgs[i], self.preprocess_cfg)[:2]
                pending.append((key, x, m))
                if sum(len(p[1]) for p in pending) >= batch_size:
                    flush()
            flush()
        if not ecgs:
            return np.empty((0, self.model.cfg.proj_dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    # ------------------------------------------------------------------------------------- text

    def _project(self, raw: np.ndarray) -> np.ndarray:
        with self._eval(), torch.inference_mode():
            return F.normalize(self.model.project_text(torch.from_numpy(raw)), dim=-1).numpy()

    def embed_text(self, texts: list[str], cache_dir: str | os.PathLike | None = None) -> np.ndarray:
        """Raw texts (no template) -> float32 (m, d), L2-normalised. `cache_dir`: persist the frozen text
        encoder's outputs there (for fixed corpora)."""
        texts = texts_given(texts, "text", "sinus rhythm. left axis deviation.")
        if not texts:
            return np.empty((0, self.model.cfg.proj_dim), dtype=np.float32)
        if cache_dir is None:
            return self._project(self._raw_text(list(texts)))
        enc = self.text_encoder
        with self._lock:
            return self._project(enc.encode_cached(list(texts), cache_dir))

    def embed_report(self, reports: list[str], cache_dir: str | os.PathLike | None = None) -> np.ndarray:
        """Reports phrased as in pretraining ("The report of the ECG is that ...") -> (m, d)."""
        reports = texts_given(reports, "report", "sinus rhythm. left axis deviation.")
        return self.embed_text([format_report(r, self.templates) for r in reports], cache_dir=cache_dir)

    def embed_prompts(self, phrases: list[str], kind: str = "diagnostic", expand: bool = True) -> np.ndarray:
        """Clinician phrases -> (m, d). A phrase that names a known statement or class (knowledge.py) is the
        normalised mean of its member statements' embeddings, each the mean of that statement's phrasings;
        any other phrase (or every phrase with expand=False) goes through the template ensemble of `kind`:
        the normalised mean of the normalised template embeddings. Cached per (phrase, kind, expand)."""
        phrases = texts_given(phrases, "prompt", "atrial fibrillation")
        keys = [(clean_phrase(p), kind, bool(expand)) for p in phrases]
        with self._lock:
            found = self.cache.prompts(keys)
            todo = [k for k in dict.fromkeys(keys) if k not in found]
            if todo:
                templates = ensemble(self.templates, kind)
                z = build_prompt_embeddings(lambda sentences: self._project(self._raw_text(sentences)),
                                            [self.knowledge.prompt_members(p) if e else p for p, _, e in todo],
                                            templates)
                for k, zk in zip(todo, z):
                    found[k] = zk
                    self.cache.put_prompt(k, zk)
        if not keys:
            return np.empty((0, self.model.cfg.proj_dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    # ------------------------------------------------------------------------------------ rank

    @property
    def logit_scale(self) -> float:
        """1/temperature used for the softmax over prompts."""
        with torch.no_grad():
            return float(self.model.scale())

    def known(self, phrases: list[str]) -> list[bool | None]:
        """Whether each phrase is close to what the model learned: a phrase that names a known statement or
        class is; a free phrase is when its nearest known phrasing (frozen text model) reaches the threshold
        stored with the weights; None when the weights carry no threshold."""
        phrases = texts_given(phrases, "prompt", "atrial fibrillation")
        out: list[bool | None] = [True if self.knowledge.expand(p).target else None for p in phrases]
        free = [i for i, v in enumerate(out) if v is None]
        threshold = self.knowledge.known_threshold
        if free and threshold is not None:
            with self._lock:
                near = self.knowledge.nearest_known(self._raw_text([clean_phrase(phrases[i]) for i in free]),
                                                    self._raw_text)
            for i, v in zip(free, near):
                out[i] = bool(v >= threshold)
        return out

    def percentiles(self, ecg: ECG, prompt_embeddings: np.ndarray, similarities: np.ndarray,
                    n_leads: int | None = None) -> np.ndarray | None:
        """Where the ECG's similarities fall among the reference ECGs' (0-100), judged against reference ECGs
        with the same kind of lead set (12-lead vs fewer leads) when there are enough of them.

        prompt_embeddings: (m, d), e.g. `embed_prompts(phrases)`; similarities: the ECG's to those m prompts,
        (m,) or (1, m) (`embed_ecg(ecg) @ prompt_embeddings.T`); returns (m,). None without reference ECGs
        (none stored, or a reference of none: nothing to compare with), and for an ECG shorter than
        knowledge.MIN_REFERENCE_S (its similarities do not compare with those of the 10-s reference ECGs)."""
        prompt_embeddings = np.asarray(prompt_embeddings, dtype=np.float32)
        similarities = np.asarray(similarities)
        dim = self.model.cfg.proj_dim
        if prompt_embeddings.ndim != 2 or prompt_embeddings.shape[1] != dim:
            raise ValueError(f"percentiles needs prompt_embeddings of shape (m, {dim}), one row per prompt (as "
                             f"embed_prompts gives them); got shape {prompt_embeddings.shape}")
        m = len(prompt_embeddings)
        if similarities.shape == (1, m):        # one ECG's row of embed_ecg(ecg) @ prompt_embeddings.T
            similarities = similarities[0]
        if similarities.shape != (m,):
            raise ValueError(f"percentiles needs one ECG's similarities to the {m} prompts, shape ({m},) or "
                             f"(1, {m}) (embed_ecg(ecg) @ prompt_embeddings.T); got shape {similarities.shape}")
        chosen = self.reference_for(ecg, n_leads)
        if chosen is None or too_short(ecg.duration):
            return None
        return percentile(similarities, self.reference["embeddings"][chosen] @ prompt_embeddings.T)

    def too_short_for_reference(self, ecg: ECG) -> bool:
        """Whether these weights judge ECGs against reference ECGs but `ecg` is too short for them
        (knowledge.MIN_REFERENCE_S): its ranking then has no percentiles, and why is worth saying."""
        return self.reference_for(ecg) is not None and too_short(ecg.duration)

    def reference_for(self, ecg: ECG, n_leads: int | None = None) -> np.ndarray | None:
        """Which reference ECGs the ECG's percentiles are judged against (a boolean mask): those of the same kind
        of lead set (12-lead vs fewer) when there are at least MIN_REFERENCE of them, else all; None without
        reference ECGs. The leads counted are those the model embeds (preprocess.model_lead_mask: a lead missing
        too often is left out of the embedding and of this count; `n_leads`: that count, where the caller has it)."""
        if self.reference is None or not len(self.reference["embeddings"]):
            return None
        return same_kind_reference(self.reference["n_leads"],
                                   int(model_lead_mask(ecg).sum()) if n_leads is None else n_leads)

    def rank(self, ecg: ECG, prompts: list[str], kind: str = "diagnostic") -> list[Match]:
        """Prompts best first. Ranked first: the prompts the model knows (or cannot tell), by percentile among
        the reference ECGs (by similarity when the weights have no reference); each carries the softmax over
        exactly these ranked prompts (a relative view), the expansion it was scored as, and the model's
        validation AUC for what it maps to. Then, in the order given and with probability None: negated
        prompts ("no atrial fibrillation", knowledge.negation), scored as the finding they negate (`negates`)
        since the model cannot read "no", never standing out; then prompts the model does not know.
        A prompt given twice, as the text model reads it ("Sinus rhythm." is "sinus rhythm"), is ranked once
        (the first spelling), as the dashboard and `mets rank` keep prompts (prompts.distinct_prompts): two rows
        of one score would share its softmax. Similarities are not diagnoses."""
        prompts = texts_given([prompts] if isinstance(prompts, str) else prompts, "prompt", "atrial fibrillation")
        if not prompts:
            raise ValueError("rank needs at least one prompt, e.g. [\"sinus rhythm\", \"atrial fibrillation\"]")
        for p in prompts:
            clean_phrase(p)           # a prompt without words is refused, not skipped as a phrase box's line is
        prompts = distinct_prompts(prompts).prompts
        negated = [negation(p) for p in prompts]
        scored = [n.finding if n else p for p, n in zip(prompts, negated)]    # what each score is of
        e = self.embed_ecg(ecg)[0]
        emb = self.embed_prompts(scored, kind)
        sims = emb @ e
        n_leads = int(model_lead_mask(ecg).sum())     # the leads embedded: once (it fills gaps on a long record)
        pct = self.percentiles(ecg, emb, sims, n_leads)
        twelve_lead = n_leads == 12               # the kind of lead set its percentiles are judged among
        known = self.known(scored)
        expansions: list[Expansion] = [self.knowledge.expand(p) for p in scored]
        # 0: ranked, 1: negated, 2: not known; the two groups apart keep the order given (their scores rank nothing)
        group = [1 if negated[i] else 2 if known[i] is False else 0 for i in range(len(prompts))]
        ranked = [i for i, g in enumerate(group) if g == 0]
        prob: list[float | None] = [None] * len(prompts)
        if ranked:
            logits = self.logit_scale * sims[ranked].astype(np.float64)
            p = np.exp(logits - logits.max())
            for i, v in zip(ranked, p / p.sum()):
                prob[i] = float(v)
        key = [(group[i], -(pct[i] if pct is not None else sims[i]) if group[i] == 0 else 0.0,
                -sims[i] if group[i] == 0 else i) for i in range(len(prompts))]
        order = sorted(range(len(prompts)), key=key.__getitem__)
        return [Match(prompts[i], float(sims[i]), prob[i],
                      percentile=None if pct is None else float(pct[i]), known=known[i],
                      validation_auc=self.knowledge.validation_auc(expansions[i].target),
                      stood_out=self.knowledge.stood_out(expansions[i].target, twelve_lead),
                      expansion=expansions[i].phrases, statement=expansions[i].name,
                      negates=negated[i].finding if negated[i] else None) for i in order]

    # -------------------------------------------------------------------------------- saliency

    def saliency(self, ecg: ECG, prompt: str, kind: str = "diagnostic", occlusion: bool = True,
                 batch_size: int = 64) -> Saliency:
        """Attribution of similarity(ECG, prompt) to the preprocessed input (explain.py): gradient x input
        over the whole record (all its windows, aggregated as in embed_ecg); occlusion: the similarity drop
        when one lead, or all leads during one segment, are set to zero (the value the encoder sees for an
        absent lead). Cost: one gradient pass, then 12 + n_segments window forwards for a 10 s record.
        `batch_size`: at most this many windows go through the network at a time, the gradient pass too, so
        the memory a long record's saliency takes does not grow with its length."""
        p = self.embed_prompts([prompt], kind)[0]
        with self._lock, self._eval():
            return explain(self.model, self.preprocess_cfg, ecg, prompt, p, occlusion, windows_per_batch(batch_size))

    # ------------------------------------------------------------------------------------ info

    def info(self) -> dict:
        """What these weights are, as `mets info` prints it: where they were loaded from and their SHA-256, the
        number of parameters, the embedding size, the softmax temperature, the text model and template set,
        the model and preprocessing settings, the training summary and the calibration (knowledge.json)."""
        n_params = sum(p.numel() for p in self.model.parameters())
        return {"source": self.source, "weights_sha256": self.weights_sha256,
                "parameters": n_params, "embedding_dim": self.model.cfg.proj_dim,
                "temperature": 1.0 / self.logit_scale, "text_model": self.text_model, "template_set": self.template_set,
                "model": self.model.cfg.to_dict(), "preprocess": self.preprocess_cfg.to_dict(),
                "training": self.training, "calibration": self.knowledge.summary()}

    def __repr__(self) -> str:
        return (f"METS(source={self.source!r}, text_model={self.text_model!r}, "
                f"dim={self.model.cfg.proj_dim}, fs={self.preprocess_cfg.fs:g})")
