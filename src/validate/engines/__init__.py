"""Sampling engines: one protocol (:mod:`.base`), one file per backend, and a registry.

``hf`` (:mod:`.hf`, torch + transformers, the default) takes each token's exact T = 1 entropy
from the logits it was drawn from; ``vllm`` (:mod:`.vllm`, optional extra) cannot see full
logits, so its entropies are scored afterwards by the teacher-forced scorer
(:mod:`rankinv.validate.scoring`) once the vLLM engine is freed: no phase holds two copies of
a model on one device.

:mod:`.registry` maps a name (``--engine``) to its backend's :class:`EngineSpec`, which the
backend's module declares (``SPEC``: its factory and its own options); ``make_engine`` there
builds one.
"""

from __future__ import annotations

from rankinv.validate.engines.base import (  # noqa: F401 (the engines' public names)
    END_TOKENS,
    Engine,
    EngineOption,
    EngineSpec,
    Generation,
    Request,
    Sampling,
    config_eos,
    encode,
    end_token_ids,
    generate,
)
