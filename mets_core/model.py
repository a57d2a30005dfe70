"""The network, top to bottom (nanoGPT style): config -> ECG encoder (chosen by name) -> two projections.

    ECG windows (n, 12, T) --ECG encoder--> (n, out_dim) --ecg_proj--> (n, proj_dim)
    frozen text embeddings (m, text_dim) -----------------text_proj--> (m, proj_dim)
    similarity = cosine; logits = exp(logit_scale) * cosine (exp clamped at 100, as in CLIP)

The ECG encoder is named in the config (`"encoder": "resnet1d18"`) and built from `ENCODERS`; a new one is a
function `(ModelConfig) -> nn.Module with .out_dim` decorated with `@register_encoder("name")`. Whole
configurations are data too, chosen by name (open_clip style): `model_config("resnet1d18")` reads
mets_core/model_configs/resnet1d18.json.

The text encoder itself is frozen and lives outside the module (mets_core/text.py): the model only sees its
mean-pooled output, which is what makes text embeddings of a fixed corpus cacheable.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import settings_from_dict

MODEL_CONFIGS_DIR = Path(__file__).with_name("model_configs")

# encoder name -> (builder, default BasicBlocks per stage); filled by @register_encoder below
ENCODERS: dict[str, tuple[Callable[["ModelConfig"], nn.Module], list[int]]] = {}
DEFAULT_ENCODER = "resnet1d18"      # what checkpoints written before the registry hold (no "encoder" key)


def register_encoder(name: str, default_layers: list[int]):
    """Decorator: make an ECG encoder builder `(ModelConfig) -> nn.Module` (with `.out_dim`) choosable by name."""
    def add(builder: Callable[["ModelConfig"], nn.Module]):
        ENCODERS[name] = (builder, list(default_layers))
        return builder
    return add


@dataclass
class ModelConfig:
    encoder: str = DEFAULT_ENCODER       # a name in ENCODERS
    in_leads: int = 12
    width: int = 64                      # channels of the first stage; stages are w, 2w, 4w, 8w
    layers: list[int] | None = None      # BasicBlocks per stage; None = the encoder's own (ResNet-18: 2,2,2,2)
    stem_kernel: int = 7
    kernel_size: int = 3
    proj_dim: int = 128
    text_dim: int = 384                  # hidden size of the frozen text encoder (MiniLM-L6: 384)
    temperature_init: float = 0.07
    max_logit_scale: float = 100.0

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown ECG encoder {self.encoder!r}; known: {sorted(ENCODERS)}")
        self.layers = list(ENCODERS[self.encoder][1] if self.layers is None else self.layers)
        if len(self.layers) != 4 or min(self.layers) < 1 or self.width < 1:
            raise ValueError(f"layers must be 4 positive block counts and width positive, got {self}")
        # a size of 0 builds a network that embeds every ECG alike; a temperature of 0 divides by it
        small = [k for k in ("in_leads", "stem_kernel", "kernel_size", "proj_dim", "text_dim", "temperature_init",
                             "max_logit_scale") if getattr(self, k) <= 0]
        if small:
            raise ValueError(f"the model settings {', '.join(small)} must be positive, got "
                             f"{', '.join(str(getattr(self, k)) for k in small)}")

    def words(self) -> str:
        """The ECG encoder in words (`mets info`, the dashboard's model card): "resnet1d18 (2-2-2-2 blocks, width 64)"."""
        return f"{self.encoder} ({'-'.join(map(str, self.layers))} blocks, width {self.width})"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "ModelConfig":
        return settings_from_dict(cls, d, "model")


def model_config(name: str) -> dict:
    """A named configuration shipped in mets_core/model_configs/NAME.json: {"model": ..., "preprocess": ...,
    "text_model": ...} (what `METS.random_init(name)` builds)."""
    path = MODEL_CONFIGS_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in MODEL_CONFIGS_DIR.glob("*.json"))
        raise ValueError(f"unknown model configuration {name!r}; known: {known} (or pass a JSON file or dict)")
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("_comment", None)
    return config


# ------------------------------------------------------------------------------------- ECG encoder

class BasicBlock1d(nn.Module):
    """ResNet BasicBlock with 1-D convolutions: conv-bn-relu-conv-bn + shortcut, relu."""

    def __init__(self, c_in: int, c_out: int, stride: int, k: int):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, k, stride=1, padding=k // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm1d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet1d(nn.Module):
    """ResNet-18 with 1-D kernels: stem (conv k=7 s=2, bn, relu, maxpool s=2), 4 stages, global average pool."""

    def __init__(self, in_leads: int = 12, width: int = 64, layers: list[int] = (2, 2, 2, 2),
                 stem_kernel: int = 7, kernel_size: int = 3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(in_leads, width, stem_kernel, stride=2, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, c_in = [], width
        for i, n_blocks in enumerate(layers):
            c_out = width * 2 ** i
            blocks = [BasicBlock1d(c_in, c_out, stride=1 if i == 0 else 2, k=kernel_size)]
            blocks += [BasicBlock1d(c_out, c_out, stride=1, k=kernel_size) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.out_dim = c_in
        for m in self.modules():  # torchvision's ResNet initialisation
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:   # (n, leads, T) -> (n, 8w)
        return self.stages(self.stem(x)).mean(dim=-1)


def resnet1d18(in_leads: int = 12, width: int = 64) -> ResNet1d:
    return ResNet1d(in_leads, width, [2, 2, 2, 2])


def _resnet1d(cfg: "ModelConfig") -> ResNet1d:
    return ResNet1d(cfg.in_leads, cfg.width, cfg.layers, cfg.stem_kernel, cfg.kernel_size)


register_encoder("resnet1d18", [2, 2, 2, 2])(_resnet1d)
register_encoder("resnet1d34", [3, 4, 6, 3])(_resnet1d)


# ---------------------------------------------------------------------------------- ECG-text model

class ECGTextModel(nn.Module):
    def __init__(self, cfg: ModelConfig | dict | None = None):
        super().__init__()
        cfg = cfg if isinstance(cfg, ModelConfig) else ModelConfig.from_dict(cfg)
        self.cfg = cfg
        self.ecg_encoder = ENCODERS[cfg.encoder][0](cfg)
        self.ecg_proj = nn.Linear(self.ecg_encoder.out_dim, cfg.proj_dim)
        self.text_proj = nn.Linear(cfg.text_dim, cfg.proj_dim)
        # log of 1/temperature, as in CLIP; learnable
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature_init)))

    def encode_ecg(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(n, 12, T) windows [+ (n, 12) lead mask] -> (n, proj_dim), not normalised.

        Multiplying by the mask guarantees absent leads are zeros whatever the caller put there."""
        if mask is not None:
            x = x * mask.to(x.dtype).unsqueeze(-1)
        return self.ecg_proj(self.ecg_encoder(x))

    def project_text(self, t_raw: torch.Tensor) -> torch.Tensor:
        """(m, text_dim) frozen mean-pooled text embeddings -> (m, proj_dim), not normalised."""
        return self.text_proj(t_raw)

    def scale(self) -> torch.Tensor:
        """The logit multiplier exp(logit_scale) = 1/temperature, clamped at max_logit_scale."""
        return self.logit_scale.clamp(max=math.log(self.cfg.max_logit_scale)).exp()

    def forward(self, x: torch.Tensor, t_raw: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (ecg_emb (n,d), text_emb (m,d), scale): what `loss.clip_loss` takes."""
        return self.encode_ecg(x, mask), self.project_text(t_raw), self.scale()


