import math
from pathlib import Path

import pytest
import torch

from mets_core.loss import clip_loss
from mets_core.model import ECGTextModel, ModelConfig, ResNet1d, model_config, resnet1d18
from mets_core.preprocess import PreprocessConfig, to_model_input

from ludb_pairs import ludb_pairs

ROOT = Path(__file__).resolve().parent.parent


def test_resnet1d18_shapes_and_size():
    net = resnet1d18()
    assert net.out_dim == 512
    blocks = [len(stage) for stage in net.stages]
    assert blocks == [2, 2, 2, 2]
    n_params = sum(p.numel() for p in net.parameters())
    assert 3.5e6 < n_params < 4.2e6          # ResNet-18 with 1-D kernels is ~3.9 M (2-D: 11.7 M)
    out = net.eval()(torch.randn(3, 12, 1000))
    assert out.shape == (3, 512)
    assert net(torch.randn(1, 12, 250)).shape == (1, 512)   # any length: global average pool


def test_mets_model_heads_and_temperature():
    m = ECGTextModel(ModelConfig(width=8, proj_dim=32, text_dim=20)).eval()
    e, t, s = m(torch.randn(4, 12, 1000), torch.randn(5, 20))
    assert e.shape == (4, 32) and t.shape == (5, 32)
    assert m.ecg_proj.in_features == 64 and m.text_proj.in_features == 20
    assert m.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert s.item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        m.logit_scale.fill_(10.0)             # exp(10) = 22026
    assert m.scale().item() == pytest.approx(100.0)   # clamped as in CLIP


def test_mask_makes_absent_leads_zero_whatever_their_content():
    m = ECGTextModel(ModelConfig(width=8)).eval()
    x = torch.randn(2, 12, 1000)
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[:, 1] = True
    zeroed = x.clone()
    zeroed[:, ~mask[0]] = 0
    with torch.no_grad():
        assert torch.equal(m.encode_ecg(x, mask), m.encode_ecg(zeroed, mask))
        assert torch.allclose(m.encode_ecg(x, mask), m.encode_ecg(zeroed), atol=1e-6)


def test_config_json_is_data_and_matches_the_defaults():
    cfg = model_config("resnet1d18")                 # mets_core/model_configs/resnet1d18.json, by name
    assert ModelConfig.from_dict(cfg["model"]) == ModelConfig()
    assert PreprocessConfig.from_dict(cfg["preprocess"]) == PreprocessConfig()
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()
    with pytest.raises(ValueError, match="unknown model settings"):
        ModelConfig.from_dict({"widht": 3})
    with pytest.raises(ValueError, match="4 positive"):
        ModelConfig.from_dict({"layers": [2, 2]})
    with pytest.raises(ValueError, match="unknown model configuration 'nope'; known: .*resnet1d18"):
        model_config("nope")


def test_the_ecg_encoder_is_chosen_by_name():
    deeper = ECGTextModel({"encoder": "resnet1d34", "width": 8})
    assert [len(stage) for stage in deeper.ecg_encoder.stages] == [3, 4, 6, 3]
    assert deeper.cfg.to_dict()["encoder"] == "resnet1d34"
    # a checkpoint config from before the registry (no "encoder" key) is the ResNet1d-18 it always was
    old = {k: v for k, v in ModelConfig().to_dict().items() if k != "encoder"}
    assert ModelConfig.from_dict(old) == ModelConfig(encoder="resnet1d18")
    assert [len(stage) for stage in ECGTextModel(old).ecg_encoder.stages] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match="unknown ECG encoder 'vit'; known: .*resnet1d18"):
        ModelConfig(encoder="vit")


def test_small_model_overfits_32_real_ecg_report_pairs():
    """32 LUDB ECGs with their (all different) diagnosis texts; the contrastive loss must fall well below
    the chance level log(32) = 3.47 and every ECG must retrieve its own report."""
    from mets_core.prompts import format_report
    from mets_core.text import TextEncoder
    pairs = ludb_pairs(32)
    x, mask, owner = to_model_input([ecg for ecg, _ in pairs])
    assert x.shape == (32, 12, 1000) and owner.tolist() == list(range(32))
    raw = torch.from_numpy(TextEncoder().encode([format_report(text) for _, text in pairs]))
    torch.manual_seed(0)
    model = ECGTextModel(ModelConfig(width=16))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, M = torch.from_numpy(x), torch.from_numpy(mask)
    first = None
    for step in range(60):
        loss = clip_loss(*model(X, raw, M))
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.2:
            break
    assert first > 0.8 * math.log(32)                 # started near chance
    assert loss.item() < 0.25 * math.log(32)          # and fell well below it
    with torch.no_grad():   # train mode: batch statistics, as in the steps above (too few steps for BN's running ones)
        e, t, s = model(X, raw, M)
        sims = torch.nn.functional.normalize(e, dim=-1) @ torch.nn.functional.normalize(t, dim=-1).T
    assert (sims.argmax(dim=1) == torch.arange(32)).float().mean() > 0.9
