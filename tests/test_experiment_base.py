"""The saved base model of the miniature experiment: one recipe, its hashes, its losses."""

import dataclasses
import json
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rankinv.errors import UserError  # noqa: E402
from rankinv.experiment import base, config  # noqa: E402
from rankinv.experiment.train import pretrain  # noqa: E402


def test_every_cpu_preset_is_the_saved_recipe_and_the_gpu_preset_pretrains():
    saved = base.manifest()["recipe"]
    for name, cfg in config.PRESETS.items():
        if name == "gpu":
            assert cfg.pretrain and base.differences(cfg, saved)  # a larger model
        else:
            assert not cfg.pretrain and base.differences(cfg, saved) == [], name


def test_saved_files_match_their_hashes_and_a_changed_one_is_named(tmp_path):
    assert base.check() == base.saved_dir()
    copy = tmp_path / "base"
    shutil.copytree(base.saved_dir(), copy)
    assert base.check(copy) == copy
    weights = copy / "model.safetensors"
    original = weights.read_bytes()
    data = bytearray(original)
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="model.safetensors differs from its recorded hash"):
        base.check(copy)
    weights.write_bytes(original)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(UserError, match="tokenizer.json is missing"):
        base.check(copy)


def test_a_preset_with_another_recipe_is_refused_unless_it_pretrains(tmp_path):
    cfg = dataclasses.replace(config.preset("ci"), pretrain_steps=1000)
    with pytest.raises(UserError, match=r"pretrain_steps 1000 \(saved 1500\).*--pretrain"):
        base.base_model(cfg, tmp_path, print)
    assert base.base_model(config.preset("ci"), tmp_path, print) == base.saved_dir()


def test_saved_base_loads_as_the_recipe_model():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = base.saved_dir()
    model = AutoModelForCausalLM.from_pretrained(d)
    tok = AutoTokenizer.from_pretrained(d)
    cfg = config.preset("ci")
    assert model.config.hidden_size == cfg.hidden
    assert model.config.num_hidden_layers == cfg.layers
    assert len(tok) <= cfg.vocab_size
    assert 250_000 < sum(p.numel() for p in model.parameters()) < 280_000


def _recorded_losses_reproduced(tmp_path, steps: int) -> None:
    import torch

    torch.set_num_threads(1)
    cfg = config.preset("ci")
    recorded = base.manifest()["losses"]
    path = pretrain(cfg, tmp_path, lambda m: None, stop_after=steps)
    got = json.loads((path / "losses.json").read_text())
    assert set(got) == {str(s) for s in range(0, steps, 100)}
    for step, loss in got.items():
        assert loss == pytest.approx(recorded[step], rel=1e-5, abs=1e-6), step


def test_the_recorded_recipe_gives_the_recorded_first_loss(tmp_path):
    """The saved base's recipe (tokenizer, initialisation, data, schedule) reproduces the
    loss it recorded at step 0."""
    _recorded_losses_reproduced(tmp_path, 1)


@pytest.mark.slow
def test_the_recorded_recipe_reproduces_the_first_200_steps(tmp_path):
    """Pretraining with the recorded recipe follows the saved base's recorded loss
    trajectory (steps 0, 100, 200; about a minute on one thread)."""
    _recorded_losses_reproduced(tmp_path, 201)
