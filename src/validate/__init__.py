"""The real-model validator: sampling engines (``engines``: one protocol; ``hf`` default,
``vllm`` optional), the exact-entropy scorer (``scoring``), model directories (``models``),
the checkpoint probe (``probe``) and its pre-RL report (``prerl``), and the fan-out over
checkpoints, devices and Ray (``fanout``: its budget ``slots``, its ``workers`` and
``ray_backend``, the ``shards`` of a checkpoint, ``progress`` lines; the vLLM scorer's
process, ``scorer_process``).

torch, transformers, vllm and ray are imported inside the functions that need them.
"""
