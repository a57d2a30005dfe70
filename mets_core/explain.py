"""Saliency: why an ECG is similar to a prompt, on the preprocessed grid the encoder saw.

One gradient pass over all windows of the record gives gradient x input and the window embeddings; the
occlusion variants (one lead zeroed, or all leads zeroed during one segment) re-encode only the windows
they change and reuse the others' embeddings from that same pass. Zero is what the encoder also sees for
an absent lead. Cost for a 10 s record: one forward + backward, then 12 + n_segments window forwards.
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
    `network`: an ECGTextModel in eval mode (the caller holds the lock and restores the mode)."""
    pp = preprocess(ecg, cfg)
    n, fs, T = pp.n_samples, cfg.fs, cfg.n_samples
    layout = window_layout(n, cfg)
    p = torch.from_numpy(np.asarray(prompt_embedding, dtype=np.float32))
    mask = torch.from_numpy(pp.lead_mask)

    sig = torch.from_numpy(pp.signal.copy()).requires_grad_(True)
    with torch.enable_grad():
        w = torch.stack([F.pad(sig[:, s:e], (d, T - d - (e - s))) for s, e, d in layout])
        z = network.encode_ecg(w, mask.expand(len(layout), -1))
        sim = record_embedding(z) @ p
        (grad,) = torch.autograd.grad(sim, sig)   # not .backward(): leaves the weights' .grad alone
    gxi = (grad * sig).detach().numpy()
    gxi[~pp.lead_mask] = 0.0
    base = float(sim.detach())

    lead_occ = np.full(12, np.nan, dtype=np.float32)
    seg_s = segment_length_s(n, fs)
    spans = segment_spans(n, fs, seg_s)
    seg_occ = np.zeros(len(spans), dtype=np.float32)
    if occlusion:
        W, zb = w.detach().numpy(), z.detach()       # the gradient pass's windows and their embeddings
        variants: list[tuple[str, int, list[int], np.ndarray]] = []   # (what, which, windows, data)
        for i in np.flatnonzero(pp.lead_mask):
            Wv = W.copy()
            Wv[:, i] = 0.0
            variants.append(("lead", int(i), list(range(len(W))), Wv))
        for j, (a, b) in enumerate(spans):
            ks, parts = [], []
            for k, (s, e, d) in enumerate(layout):
                lo, hi = max(a, s), min(b, e)
                if lo < hi:
                    wk = W[k].copy()
                    wk[:, lo - s + d:hi - s + d] = 0.0
                    ks.append(k)
                    parts.append(wk)
            variants.append(("segment", j, ks, np.stack(parts)))
        x = torch.from_numpy(np.concatenate([v[3] for v in variants]))
        with torch.inference_mode():
            znew = torch.cat([network.encode_ecg(x[b:b + batch_size], mask.expand(len(x[b:b + batch_size]), -1))
                              for b in range(0, len(x), batch_size)])
        start = 0
        for what, which, ks, _ in variants:
            zv = zb.clone()
            zv[ks] = znew[start:start + len(ks)]
            start += len(ks)
            drop = base - float(record_embedding(zv) @ p)
            if what == "lead":
                lead_occ[which] = drop
            else:
                seg_occ[which] = drop
    return Saliency(prompt=str(prompt), similarity=base, fs=fs, lead_mask=pp.lead_mask.copy(),
                    gradient_x_input=gxi.astype(np.float32), lead_occlusion=lead_occ,
                    segment_occlusion=seg_occ, segment_s=seg_s)
