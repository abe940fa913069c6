"""Checkpoints named as Hugging Face Hub ids (rankinv.validate.models), read offline from a
local Hugging Face cache laid out as huggingface_hub lays it out: a full model, a PEFT adapter
whose base_model_name_or_path is a Hub id, an adapter that is itself a Hub id, one-line errors
for ids not in the cache, and `rankinv validate --model org/name` end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("huggingface_hub")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import build_model, place_in_hub_cache  # noqa: E402

from rankinv.errors import InputNotFound  # noqa: E402
from rankinv.validate.models import (  # noqa: E402
    hub_commit,
    is_hub_id,
    load_model,
    model_key,
    model_name,
    resolve_model_dir,
)
from rankinv.validate.scoring import prompt_entropy  # noqa: E402

REPO = "tiny-org/tiny-qwen"
PROMPT = "def add(a, b):\n    "


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory, tokenizer):
    return build_model("qwen2", tmp_path_factory.mktemp("qwen2"), tokenizer, seed=3)


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory, local_dir):
    home = tmp_path_factory.mktemp("hf_home")
    place_in_hub_cache(local_dir, home / "hub", REPO)
    return home


@pytest.fixture
def offline(hf_home, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return hf_home


def _entropy(model_path):
    model, tok, _, rev = load_model(model_path)
    return prompt_entropy(model, tok, [PROMPT])[0], rev


def test_hub_id_syntax_versus_local_paths(tmp_path):
    assert is_hub_id("Qwen/Qwen2.5-0.5B") and is_hub_id("gpt2")
    assert not is_hub_id("/abs/path") and not is_hub_id("./rel") and not is_hub_id("a/b/c")
    assert not is_hub_id("../up") and not is_hub_id("runs/samples.jsonl")
    (tmp_path / "org").mkdir()
    assert not is_hub_id(str(tmp_path / "org"))  # an existing path is never a Hub id
    assert model_key("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert model_key(tmp_path / "org") == str((tmp_path / "org").resolve())
    assert model_name("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"  # how a probe names it
    assert model_name(tmp_path / "org") == "org" and model_name(".") == Path.cwd().name


def test_hub_id_loads_from_the_cache_offline(offline, local_dir):
    base, adapter = resolve_model_dir(REPO)
    assert adapter is None and hub_commit(base) is not None
    assert base.parent.parent.name == "models--tiny-org--tiny-qwen"
    h_hub, rev_hub = _entropy(REPO)
    h_local, rev_local = _entropy(local_dir)
    assert h_hub == pytest.approx(h_local, rel=1e-6)  # the same weights
    assert rev_hub != rev_local  # a snapshot counts by its commit, a folder by its files
    assert _entropy(REPO)[1] == rev_hub


def test_adapter_with_a_hub_id_base_and_an_adapter_on_the_hub(offline, local_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(local_dir)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    local_adapter = tmp_path / "lora_local"
    peft_model.save_pretrained(local_adapter)
    hub_adapter = tmp_path / "lora_hub"  # PEFT's usual case: the base is named by its Hub id
    peft_model.save_pretrained(hub_adapter)
    cfg = json.loads((hub_adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = REPO
    (hub_adapter / "adapter_config.json").write_text(json.dumps(cfg))

    b, a = resolve_model_dir(hub_adapter)
    assert hub_commit(b) is not None and a == hub_adapter
    h_adapter, _ = _entropy(hub_adapter)
    assert h_adapter == pytest.approx(_entropy(local_adapter)[0], rel=1e-6)
    assert h_adapter != pytest.approx(_entropy(REPO)[0], abs=1e-7)  # the adapter is applied

    place_in_hub_cache(hub_adapter, offline / "hub", "tiny-org/tiny-lora")
    assert _entropy("tiny-org/tiny-lora")[0] == pytest.approx(h_adapter, rel=1e-6)


def test_ids_not_in_the_cache_are_one_clear_error(offline, tmp_path):
    with pytest.raises(InputNotFound, match="not in the local Hugging Face cache") as e:
        resolve_model_dir("tiny-org/absent")
    assert "\n" not in str(e.value) and "HF_HUB_OFFLINE" in str(e.value)
    adapter = tmp_path / "lora"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "tiny-org/absent-base", "r": 4})
    )
    with pytest.raises(InputNotFound, match="base model of LoRA adapter .*absent-base"):
        resolve_model_dir(adapter)
    with pytest.raises(InputNotFound, match="neither a local directory nor a Hub id"):
        resolve_model_dir(tmp_path / "a" / "b" / "c")


def _cli(hf_home, *args, **env_extra):
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "rankinv.cli", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_validate_cli_with_a_hub_id(hf_home, tmp_path):
    missing = _cli(hf_home, "--model", "tiny-org/absent", "--out", tmp_path / "x", "-n", 8)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing.stderr
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "tiny-org/absent" in lines[0], lines
    unreachable = _cli(hf_home, "--model", "tiny-org/absent", "--out", tmp_path / "x", "-n", 8,
                       HF_HUB_OFFLINE="0", HF_ENDPOINT="http://127.0.0.1:9")  # fmt: skip
    assert unreachable.returncode == 2 and "Traceback" not in unreachable.stderr
    assert "not downloadable from the Hugging Face Hub" in unreachable.stderr
    out = tmp_path / "probe"
    run = _cli(hf_home, "--model", REPO, "--benchmark", "synthetic", "--limit", 2,
               "--samples", 8, "--max-new-tokens", 8, "--out", out, "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["model"] == REPO and summary["n_problems"] == 2
    from rankinv.verdicts.probe_result import ProbeResult

    assert ProbeResult.load(out).setup.model == REPO  # rank reads it like any probe
