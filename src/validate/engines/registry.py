"""The engine registry: :data:`ENGINES` maps a name (``--engine``) to its backend's
:class:`EngineSpec`, which the backend's module declares (``SPEC``: its factory and its own
options). To add an engine, write its module with an Engine class and a ``SPEC``, and list
that ``SPEC`` here. (The backends are imported here, not by the package, so that the scorer
can use :mod:`.base` without loading a backend.)"""

from __future__ import annotations

from pathlib import Path

from rankinv.errors import UserError
from rankinv.validate.engines import hf, vllm
from rankinv.validate.engines.base import Engine, EngineOption, EngineSpec

#: ``--engine`` name -> the backend's declaration (the first is the default).
ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (hf.SPEC, vllm.SPEC)}


def engine_spec(name: str) -> EngineSpec:
    """The registered engine called ``name`` (a UserError naming the choices otherwise)."""
    if name not in ENGINES:
        raise UserError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")
    return ENGINES[name]


def check_options(name: str, options: dict) -> dict:
    """The options given (None and False dropped) checked against engine ``name``'s own
    before any model loads: the engine's own are range-checked by its ``check``, then an
    option only another engine declares is named with that engine."""
    spec = engine_spec(name)
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    spec.check({k: v for k, v in given.items() if k in spec.option_names})
    foreign = sorted(set(given) - spec.option_names)
    if foreign:
        owner = next((s for s in ENGINES.values() if set(foreign) <= s.option_names), None)
        flags = ", ".join(EngineOption(k, "").flag for k in foreign)
        if owner is None:
            raise UserError(f"{flags}: not an option of any engine")
        raise UserError(f"{flags}: {owner.label} options; add --engine {owner.name}")
    return given


def make_engine(name: str, model_path: str | Path, **options) -> Engine:
    """Build engine ``name`` for ``model_path`` with the options it declares (None values
    and options it does not take are left out)."""
    spec = engine_spec(name)
    kept = {k: v for k, v in options.items() if v is not None and k in spec.option_names}
    return spec.factory(model_path, **kept)
