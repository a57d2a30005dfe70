"""The caches of one `METS`: ECG embeddings, prompt embeddings and raw text embeddings, under one lock.

All in memory; nothing of an ECG is ever written to disk (uploaded ECGs are patient data).

- ECG embeddings are keyed by `ECG.content_hash()` (the one content hash of the project: the dashboard's
  record store keys on it too) plus the preprocessing settings, so re-ranking a record with new prompts
  does not embed it again.
- Prompt embeddings are keyed by (phrase, kind, expand); they depend on the templates, which clear them.
- Raw text embeddings (the frozen text model's output, before the trainable projection) come from memory,
  then from the shards a weights folder ships in `text_cache/` (every prompt sentence the model knows,
  written by `METS.ship_prompt_cache`), and only then from the text model, which is loaded on that first
  miss (transformers + MiniLM take ~6 s to load: a CLI run with known prompts never pays for it).

When the weights change the ECG and prompt embeddings are stale. They are dropped on `load_state_dict` (a
module hook), after any optimizer step in this process (`torch.optim`'s global step hook: a trainer that
validates with a METS around the model it trains stays correct), and by `clear()`. A hand edit of the
weights in place must call `METS.clear_caches()`.

`LRU` is the project's one bounded least-recently-used mapping (these caches, and the dashboard's kept
recordings, measurement futures and built figures). This module imports torch only when a model's cache is
made, so that the dashboard's measuring processes use `LRU` without it.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

TEXT_CACHE_DIR = "text_cache"     # in a weights folder: shards of raw prompt-sentence embeddings (text.py)

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class LRU(Generic[Key, Value]):
    """At most `size` entries; putting one more forgets the least recently used (a `get` or a `put` uses an
    entry; `in` does not). No lock of its own: an owner whose threads share it holds its own lock around it."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Key, Value] = OrderedDict()

    def get(self, key: Key, default: Value | None = None) -> Value | None:
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: Key, value: Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def pop(self, key: Key, default: Value | None = None) -> Value | None:
        return self._entries.pop(key, default)

    def clear(self) -> None:
        self._entries.clear()

    def keys(self) -> list[Key]:
        """The keys, least recently used first (a copy: the mapping may change while they are read)."""
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


_optimizer_steps = 0              # optimizer steps taken in this process (any optimizer)
_step_hook_registered = False


def _count_step(optimizer, args, kwargs) -> None:
    global _optimizer_steps
    _optimizer_steps += 1


def _count_optimizer_steps() -> None:
    """Register `_count_step` with torch.optim once, when the first model cache is made (steps taken before
    then cannot make a cache stale: each cache compares with the count at its own start)."""
    global _step_hook_registered
    if not _step_hook_registered:
        from torch.optim.optimizer import register_optimizer_step_post_hook
        register_optimizer_step_post_hook(_count_step)
        _step_hook_registered = True


class EmbeddingCache:
    """LRU caches of ECG and prompt embeddings for one model. `lock` guards them and is the one lock of the
    METS that owns the cache (dashboard sessions are threads sharing one METS)."""

    def __init__(self, size: int = 512):
        _count_optimizer_steps()
        self.lock = threading.RLock()
        self._ecg: LRU[str, np.ndarray] = LRU(size)
        self._prompt: LRU[tuple, np.ndarray] = LRU(size)
        self._steps_seen = _optimizer_steps
        self.hits = self.misses = 0          # ECG lookups, for `info()`

    @property
    def size(self) -> int:
        """How many ECG embeddings, and how many prompt embeddings, are kept (`METS.cache_size`)."""
        return self._ecg.size

    @size.setter
    def size(self, value: int) -> None:
        with self.lock:
            self._ecg.size = self._prompt.size = int(value)

    def watch(self, module: torch.nn.Module) -> None:
        """Drop the caches whenever `module.load_state_dict` replaces the weights. (A weak reference: a
        trainer wraps its model in a new METS at every checkpoint; the hooks must not keep those alive.)"""
        ref = weakref.ref(self)

        def clear(*_) -> None:
            cache = ref()
            if cache is not None:
                cache.clear()
        module.register_load_state_dict_post_hook(clear)

    @staticmethod
    def ecg_key(ecg, preprocess_settings) -> str:
        return f"{ecg.content_hash()}|{preprocess_settings!r}"

    def _fresh(self) -> None:
        if self._steps_seen != _optimizer_steps:       # weights trained since the last lookup
            self.clear()
            self._steps_seen = _optimizer_steps

    def ecgs(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached embeddings among `keys` (counted as hits; the others as misses)."""
        with self.lock:
            self._fresh()
            found = {k: self._ecg.get(k) for k in dict.fromkeys(keys) if k in self._ecg}
            self.hits += len(found)
            self.misses += len(dict.fromkeys(keys)) - len(found)
            return found

    def put_ecg(self, key: str, embedding: np.ndarray) -> None:
        with self.lock:
            self._ecg.put(key, embedding)

    def prompts(self, keys: list[tuple]) -> dict[tuple, np.ndarray]:
        with self.lock:
            self._fresh()
            return {k: self._prompt.get(k) for k in dict.fromkeys(keys) if k in self._prompt}

    def put_prompt(self, key: tuple, embedding: np.ndarray) -> None:
        with self.lock:
            self._prompt.put(key, embedding)

    def clear_prompts(self) -> None:
        with self.lock:
            self._prompt.clear()

    def clear(self) -> None:
        with self.lock:
            self._ecg.clear()
            self._prompt.clear()

    def info(self) -> dict:
        """Sizes and ECG hit/miss counts (as functools.lru_cache's cache_info)."""
        with self.lock:
            return {"ecgs": len(self._ecg), "prompts": len(self._prompt), "ecg_hits": self.hits,
                    "ecg_misses": self.misses, "size": self.size}


class TextEmbeddingCache:
    """Raw text embeddings of one text model: an LRU in memory over the shards of `shard_dirs` (read once,
    lazily, without loading the transformer). Keys are text.text_key(model, max_length, text)."""

    def __init__(self, model_name: str, max_length: int, shard_dirs: list[Path] = (), memory_size: int = 20_000):
        self.model_name, self.max_length = model_name, int(max_length)
        self.shard_dirs = [Path(d) for d in shard_dirs]
        self._memory: LRU[str, np.ndarray] = LRU(memory_size)
        self._shipped: dict[bytes, np.ndarray] | None = None

    def _shards(self) -> dict[bytes, np.ndarray]:
        if self._shipped is None:
            from .text import read_shards
            self._shipped = {}
            for folder in self.shard_dirs:
                read_shards(folder, self.model_name, self.max_length, None, self._shipped)
        return self._shipped

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        from .text import text_key
        found: dict[str, np.ndarray] = {}
        for t in dict.fromkeys(texts):
            if t in self._memory:
                found[t] = self._memory.get(t)
            else:
                v = self._shards().get(text_key(self.model_name, self.max_length, t))
                if v is not None:
                    found[t] = v
        return found

    def put(self, texts: list[str], embeddings: np.ndarray) -> None:
        for t, v in zip(texts, embeddings):
            self._memory.put(t, v)
