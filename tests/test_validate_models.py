"""Model directories (rankinv.validate.models): full checkpoints, LoRA adapters, errors."""

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model  # noqa: E402

from rankinv.errors import InputNotFound, UserError  # noqa: E402
from rankinv.validate.models import adapter_rank, load_model  # noqa: E402
from rankinv.validate.scoring import prompt_entropy  # noqa: E402


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model_dir(request, tmp_path_factory, tokenizer):
    return build_model(request.param, tmp_path_factory.mktemp(request.param), tokenizer, seed=1)


@pytest.fixture(scope="module")
def tasks(humaneval_tasks):
    return humaneval_tasks


def test_lora_adapter_directory_loads(model_dir, tmp_path, tasks):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "adapter_config.json").read_text())
    assert Path(cfg["base_model_name_or_path"]) == Path(model_dir)
    assert adapter_rank(tmp_path) == 4
    model, tok, _, rev = load_model(tmp_path)
    base, _, _, base_rev = load_model(model_dir)
    h_lora = prompt_entropy(model, tok, [tasks[0].prompt])[0]
    h_base = prompt_entropy(base, tok, [tasks[0].prompt])[0]
    assert rev != base_rev
    assert h_lora != pytest.approx(h_base, abs=1e-7)  # the adapter's weights are applied


def test_bad_model_dirs(tmp_path):
    with pytest.raises(InputNotFound, match="not found"):
        load_model(tmp_path / "missing")
    with pytest.raises(UserError, match="not a model directory"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot load model"):
        load_model(tmp_path)


def test_adapter_rank_reads_r_and_rank_pattern(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 16, "rank_pattern": {"q": 48}}))
    assert adapter_rank(tmp_path) == 48
    (tmp_path / "adapter_config.json").write_text("{}")
    assert adapter_rank(tmp_path) is None
