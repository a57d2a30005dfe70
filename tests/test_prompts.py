"""One home for prompts: named template sets in prompts.json, the checkpoint names its set (older checkpoints
with literal templates still load), and one function builds every prompt embedding."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mets_core.checkpoint import CheckpointError
from mets_core.pipeline import METS
from mets_core.prompts import (CUSTOM, build_prompt_embeddings, default_template_set, load_template_set,
                               template_set_names, templates_from_config)
from mets_core.text import TextEncoder


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder()


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_template_sets_are_named_data_resolved_per_kind():
    names = template_set_names()
    assert names[0] == default_template_set() and len(names) == len(set(names)) >= 2
    paper = load_template_set("paper")
    assert paper["ensembles"]["rhythm"] == ["The ECG of {label}, a type of rhythm."]
    assert paper["zero_shot"]["form"] == "The ECG of {label}, a type of form."
    default = load_template_set(None)
    assert default == load_template_set(default_template_set())
    assert default["pretraining"] == "The report of the ECG is that {text}"
    assert all("{kind}" not in t for ens in default["ensembles"].values() for t in ens)
    with pytest.raises(ValueError, match="unknown template set 'nope'.*paper"):
        load_template_set("nope")


def test_build_prompt_embeddings_averages_templates_then_phrasings_then_members():
    rng = np.random.default_rng(0)
    table: dict[str, np.ndarray] = {}

    def encode(sentences):        # any text -> a fixed random 8-d vector, not normalised
        return np.stack([table.setdefault(s, rng.normal(size=8) * 3) for s in sentences])

    templates = ["{label}", "ECG of {label}."]
    z = build_prompt_embeddings(encode, ["a b", [["x"], ["y", "y2"]]], templates)
    assert z.shape == (2, 8) and z.dtype == np.float32
    phrasing = lambda p: unit(unit(encode([t.replace("{label}", p) for t in templates])).mean(0))
    assert np.allclose(z[0], phrasing("a b"), atol=1e-6)
    member_y = unit((phrasing("y") + phrasing("y2")) / 2)
    assert np.allclose(z[1], unit((phrasing("x") + member_y) / 2), atol=1e-6)
    # a phrase with a trailing full stop and odd spacing is the same prompt; braces a user types stay literal
    assert np.allclose(build_prompt_embeddings(encode, [" a  b. "], templates), z[:1], atol=1e-6)
    build_prompt_embeddings(encode, ["{0} {label}"], ["{label}"])
    assert "{0} {label}" in table
    with pytest.raises(ValueError, match="at least one template"):
        build_prompt_embeddings(encode, ["a"], [])


def test_the_model_embeds_prompts_through_the_one_function(text_encoder):
    m = METS.random_init({"model": {"width": 8}}, seed=0, text_encoder=text_encoder)
    for set_name in ("paper", default_template_set()):
        m.template_set = set_name
        assert m.template_set == set_name
        tpl = m.templates["ensembles"]["rhythm"]
        expect = build_prompt_embeddings(m.embed_text, ["atrial fibrillation", "irregular narrow complexes"], tpl)
        got = m.embed_prompts(["atrial fibrillation", "irregular narrow complexes"], "rhythm", expand=False)
        assert np.allclose(got, expect, atol=1e-5)
    # a known statement is scored as its members' phrasings (knowledge expansion), through the same function
    m.template_set = default_template_set()
    members = m.knowledge.prompt_members("LBBB")
    assert isinstance(members, list) and members
    expect = build_prompt_embeddings(m.embed_text, [members], m.templates["ensembles"]["diagnostic"])
    assert np.allclose(m.embed_prompts(["LBBB"]), expect, atol=1e-5)


def test_checkpoint_names_its_set_and_older_literal_templates_still_load(text_encoder, tmp_path):
    m = METS.random_init({"model": {"width": 8}}, seed=0, text_encoder=text_encoder)
    m.template_set = "paper"
    m.save_pretrained(tmp_path / "named")
    cfg = json.loads((tmp_path / "named" / "config.json").read_text())
    assert cfg["template_set"] == "paper" and "templates" not in cfg
    back = METS.from_pretrained(tmp_path / "named", text_encoder=text_encoder)
    assert back.template_set == "paper" and back.templates == load_template_set("paper")
    assert back.info()["template_set"] == "paper"

    # an older checkpoint: literal templates equal to a named set -> that set
    cfg.pop("template_set")
    cfg["templates"] = load_template_set("paper")
    (tmp_path / "named" / "config.json").write_text(json.dumps(cfg))
    assert METS.from_pretrained(tmp_path / "named", text_encoder=text_encoder).template_set == "paper"

    # literal templates of no named set are kept as they are, and written back as they are
    own = load_template_set("paper")
    own["ensembles"] = {k: ["An ECG with {label}."] for k in own["ensembles"]}
    cfg["templates"] = own
    (tmp_path / "named" / "config.json").write_text(json.dumps(cfg))
    old = METS.from_pretrained(tmp_path / "named", text_encoder=text_encoder)
    assert old.template_set == CUSTOM and old.templates == own
    old.save_pretrained(tmp_path / "resaved")
    assert templates_from_config(json.loads((tmp_path / "resaved" / "config.json").read_text())) == (CUSTOM, own)

    cfg["template_set"] = "no-such-set"
    (tmp_path / "named" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown template set 'no-such-set'"):
        METS.from_pretrained(tmp_path / "named", text_encoder=text_encoder)


def test_shipped_weights_name_their_set():
    from pathlib import Path

    from mets_core.checkpoint import read_config
    cfg = read_config(Path(__file__).resolve().parents[1] / "weights")
    assert cfg["template_set"] in template_set_names() and "templates" not in cfg
