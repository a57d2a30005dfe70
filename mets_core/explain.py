"""Saliency: why an ECG is similar to a prompt, on the preprocessed grid the encoder saw.

The window embeddings of the record, then the gradient of the similarity carried back through the network,
give gradient x input; the occlusion variants (one lead zeroed, or all leads zeroed during one segment)
re-encode only the windows they change and reuse the others' embeddings. Every pass takes at most
`batch_size` windows at a time, so the memory does not grow with the record's length. Zero is what the
encoder also sees for an absent lead. Cost for a 10 s record: two forwards + a backward of its window, then
12 + n_segments window forwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .ecg import ECG
from .preprocess import PreprocessConfig, preprocess, window_layout


@dataclass
class Saliency:
    """Why an ECG is similar to a prompt. Signals are on the preprocessed grid (fs Hz, same length)."""
    prompt: str
    similarity: float
    fs: float
    lead_mask: np.ndarray            # (12,) bool
    gradient_x_input: np.ndarray     # (12, n_samples): d similarity / d input x input; zeros for absent leads
    lead_occlusion: np.ndarray       # (12,): similarity drop when the lead is zeroed; NaN for absent leads
    segment_occlusion: np.ndarray    # (n_segments,): similarity drop when all leads are zeroed in a segment
    segment_s: float                 # segment length in seconds (1 s; longer for records over 60 s)

    def segment_spans_s(self) -> list[tuple[float, float]]:
        """(start, end) seconds, from the start of the ECG explained, of each segment of `segment_occlusion`; the
        last one ends where the ECG ends (a 2.5 s ECG's third second is 2-2.5 s, not 2-3 s)."""
        return [(a / self.fs, b / self.fs)
                for a, b in segment_spans(self.gradient_x_input.shape[1], self.fs, self.segment_s)]


def segment_length_s(n: int, fs: float) -> float:
    """The occlusion segment for a preprocessed record of `n` samples at `fs` Hz: 1 s, longer for records over
    60 s (at most 60 segments)."""
    return max(1.0, float(np.ceil(n / fs / 60.0)))


def segment_spans(n: int, fs: float, segment_s: float) -> list[tuple[int, int]]:
    """(start, end) samples of each occlusion segment of a preprocessed record of `n` samples: the one split
    that `explain` hides and `Saliency.segment_spans_s` names."""
    seg_len = int(round(segment_s * fs))
    return [(a, min(n, a + seg_len)) for a in range(0, n, seg_len)]


def record_embedding(window_embeddings: torch.Tensor) -> torch.Tensor:
    """(n_windows, d) unnormalised window embeddings -> (d,): the normalised mean of the normalised windows,
    which is how a record longer than the model window is embedded."""
    return F.normalize(F.normalize(window_embeddings, dim=-1).mean(0), dim=-1)


def explain(network, cfg: PreprocessConfig, ecg: ECG, prompt: str, prompt_embedding: np.ndarray,
            occlusion: bool = True, batch_size: int = 64) -> Saliency:
    """Attribution of cosine(record embedding, `prompt_embedding`) to the preprocessed input of `ecg`.
    `network`: an ECGTextModel in eval mode (the caller holds the lock and restores the mode). At most
    `batch_size` windows go through the network at a time, with the gradient too: the memory a saliency takes
    does not grow with the length of the record (a 30-min Holter's 360 windows at once took 2 GB)."""
    pp = preprocess(ecg, cfg)
    n, fs, T = pp.n_samples, cfg.fs, cfg.n_samples
    layout = window_layout(n, cfg)
    p = torch.from_numpy(np.asarray(prompt_embedding, dtype=np.float32))
    mask = torch.from_numpy(pp.lead_mask)
    batches = [layout[b:b + batch_size] for b in range(0, len(layout), batch_size)]

    def windows_of(span: torch.Tensor, lo: int, part: list[tuple[int, int, int]]) -> torch.Tensor:
        """The windows `part` of the layout, cut from `span` (the signal from sample `lo` on)."""
        return torch.stack([F.pad(span[:, s - lo:e - lo], (d, T - d - (e - s))) for s, e, d in part])

    # the window embeddings, then d similarity / d each window embedding (the record embedding is their
    # normalised mean), then that carried back through the network one batch of windows at a time
    signal = torch.from_numpy(pp.signal.copy())
    with torch.inference_mode():
        zb = torch.cat([network.encode_ecg(windows_of(signal, 0, part), mask.expand(len(part), -1))
                        for part in batches])
    z = zb.clone().requires_grad_(True)
    with torch.enable_grad():
        sim = record_embedding(z) @ p
        (dz,) = torch.autograd.grad(sim, z)   # not .backward(): leaves the weights' .grad alone
        grad = torch.zeros_like(signal)
        done = 0
        for part in batches:
            lo, hi = min(s for s, _, _ in part), max(e for _, e, _ in part)
            span = signal[:, lo:hi].clone().requires_grad_(True)
            zp = network.encode_ecg(windows_of(span, lo, part), mask.expand(len(part), -1))
            (g,) = torch.autograd.grad(zp, span, grad_outputs=dz[done:done + len(part)])
            grad[:, lo:hi] += g
            done += len(part)
    gxi = (grad * signal).numpy()
    gxi[~pp.lead_mask] = 0.0
    base = float(sim.detach())

    lead_occ = np.full(12, np.nan, dtype=np.float32)
    seg_s = segment_length_s(n, fs)
    spans = segment_spans(n, fs, seg_s)
    seg_occ = np.zeros(len(spans), dtype=np.float32)
    if occlusion:
        W = windows_of(signal, 0, layout).numpy()     # the windows the gradient pass saw
        # (what, which, the windows it changes): one lead zeroed in every window, or every lead zeroed during
        # one segment in the windows that cover it; made a batch at a time, not all at once (a 1-hour 12-lead
        # record would be 9,000 windows, 0.4 GB)
        variants: list[tuple[str, int, list[int]]] = [("lead", int(i), list(range(len(W))))
                                                       for i in np.flatnonzero(pp.lead_mask)]
        for j, (a, b) in enumerate(spans):
            variants.append(("segment", j, [k for k, (s, e, _) in enumerate(layout) if max(a, s) < min(b, e)]))

        def changed(v: int, k: int) -> np.ndarray:
            what, which, _ = variants[v]
            wk = W[k].copy()
            if what == "lead":
                wk[which] = 0.0
            else:
                a, b = spans[which]
                s, e, d = layout[k]
                wk[:, max(a, s) - s + d:min(b, e) - s + d] = 0.0
            return wk

        zv = [zb.clone() for _ in variants]
        todo = [(v, k) for v, (_, _, ks) in enumerate(variants) for k in ks]
        with torch.inference_mode():
            for b in range(0, len(todo), batch_size):
                part = todo[b:b + batch_size]
                znew = network.encode_ecg(torch.from_numpy(np.stack([changed(v, k) for v, k in part])),
                                          mask.expand(len(part), -1))
                for (v, k), zk in zip(part, znew):
                    zv[v][k] = zk
        for (what, which, _), zvv in zip(variants, zv):
            drop = base - float(record_embedding(zvv) @ p)
            if what == "lead":
                lead_occ[which] = drop
            else:
                seg_occ[which] = drop
    return Saliency(prompt=str(prompt), similarity=base, fs=fs, lead_mask=pp.lead_mask.copy(),
                    gradient_x_input=gxi.astype(np.float32), lead_occlusion=lead_occ,
                    segment_occlusion=seg_occ, segment_s=seg_s)
