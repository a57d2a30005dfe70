"""How long one epoch of the ptbxl-mets recipe takes: measured on this CPU, estimated for GPUs from FLOPs.

Measures optimizer steps/s of the real training step (mets_train.training.loop.train_step: ResNet1d-18 +
projections + CLIP loss + Adam) on random 12 x 1000 input (10 s at 100 Hz, batch 32: the model, optimizer,
input length and batch are read from the recipe, mets_train/configs/recipe_ptbxl_mets.json), in
float32 (the recipe's setting) and bf16 autocast, and extrapolates to the 19,634 ECGs of PTB-XL folds 1-9.
Report embeddings are precomputed once by the frozen text encoder (cached), so they are not part of a step.
The GPU numbers are an ESTIMATE: counted FLOPs x 3 (forward + backward) / (peak x assumed utilisation).

    python benchmarks/ptbxl_recipe_epoch.py [--steps 20] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

N_PRETRAIN = 19634          # PTB-XL folds 1-9 (21,837 - 2,203 of fold 10)
GPUS = {                    # dense peak TFLOPS: (fp32 non-tensor, bf16/fp16 tensor with fp32 accumulate)
    "RTX 3090 (the paper's)": (35.6, 71.0),
    "A100 40/80 GB": (19.5, 312.0),
    "H100 SXM": (67.0, 989.0),
}
UTILISATION = (0.15, 0.40)  # small 1-D convolutions at batch 32 reach a modest fraction of peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per precision (after 3 untimed)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the recipe's)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.steps < 1 or (args.batch is not None and args.batch < 1):
        ap.error("--steps and --batch must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)

    from torch.utils.flop_counter import FlopCounterMode

    from mets_core.model import ECGTextModel, ModelConfig
    from mets_train.training.config import make_config
    from mets_train.training.loop import build_optimizer, train_step
    from mets_train.training.recipe import load_recipe

    cfg = make_config(load_recipe("ptbxl-mets")["training"])     # the recipe's model, optimizer, input, batch
    args.batch = args.batch or cfg["batch_size"]
    samples = int(round(cfg["preprocess"]["fs"] * cfg["preprocess"]["window_s"]))
    lr, grad_clip = cfg["optimizer"]["lr"], cfg["optimizer"]["grad_clip"]
    torch.manual_seed(0)
    model = ECGTextModel(ModelConfig.from_dict(cfg["model"]))   # text_dim: the default text model's (MiniLM)
    opt = build_optimizer(model, cfg["optimizer"])
    x = torch.randn(args.batch, 12, samples)
    mask = torch.ones(args.batch, 12, dtype=torch.bool)
    text = torch.randn(args.batch, model.cfg.text_dim)

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x[:1], text[:1], mask[:1])
    fwd_flops = counter.get_total_flops()          # per ECG (one 12 x samples window)
    model.train()

    out = {"batch": args.batch, "threads": torch.get_num_threads(), "forward_gflops_per_ecg": fwd_flops / 1e9,
           "params_m": sum(p.numel() for p in model.parameters()) / 1e6, "cpu": {}}
    for bf16 in (False, True):
        for _ in range(3):
            train_step(model, opt, x, mask, text, None, lr, grad_clip, bf16)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            train_step(model, opt, x, mask, text, None, lr, grad_clip, bf16)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        steps_s = args.steps / wall
        out["cpu"]["bf16" if bf16 else "fp32"] = {
            "steps_per_s": steps_s, "ecgs_per_s": steps_s * args.batch, "cpu_s_per_step": cpu / args.steps,
            "epoch_min": N_PRETRAIN / args.batch / steps_s / 60,
            # on a shared machine wall time includes waiting for other processes; CPU time spread over
            # this process's threads is what an otherwise idle machine would take
            "epoch_min_if_idle": N_PRETRAIN / args.batch * cpu / args.steps / torch.get_num_threads() / 60}
    train_flops = 3 * fwd_flops * N_PRETRAIN
    out["gpu_estimate_s_per_epoch"] = {
        name: {"fp32": [train_flops / (peak[0] * 1e12 * u) for u in UTILISATION[::-1]],
               "bf16": [train_flops / (peak[1] * 1e12 * u) for u in UTILISATION[::-1]]}
        for name, peak in GPUS.items()}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"ResNet1d-18 METS model: {out['params_m']:.1f} M parameters, "
          f"{out['forward_gflops_per_ecg']:.3f} GFLOP forward per 12 x {samples} ECG (batch {args.batch})")
    for k, v in out["cpu"].items():
        print(f"CPU {k:5s} ({out['threads']} threads): {v['steps_per_s']:.2f} steps/s = {v['ecgs_per_s']:.0f} ECGs/s "
              f"-> {v['epoch_min']:.1f} min per epoch of {N_PRETRAIN} ECGs (measured, extrapolated); "
              f"{v['cpu_s_per_step']:.2f} CPU-s/step -> {v['epoch_min_if_idle']:.1f} min/epoch on an idle machine")
    for name, v in out["gpu_estimate_s_per_epoch"].items():
        print(f"GPU {name}: ESTIMATE {v['fp32'][0]:.0f}-{v['fp32'][1]:.0f} s/epoch fp32, "
              f"{v['bf16'][0]:.1f}-{v['bf16'][1]:.1f} s/epoch bf16 (FLOPs at {UTILISATION[0]:.0%}-"
              f"{UTILISATION[1]:.0%} of peak; data loading and launch overheads not included)")


if __name__ == "__main__":
    main()
