"""Reinforcement active pretraining: the PretrainZero step, RL algorithms, the embedded trainer.

* :mod:`.step` — ``pretrainzero_step``: one round of the two-role game on any
  :class:`~pretrainzero.engines.Engine` -> a ``RolloutBatch``.
* :mod:`.algorithms` — ``get_algorithm("dapo" | "grpo" | ... | "module:Class")``.
* :mod:`.recipe` — ``load_recipe("agents/X.yaml")`` -> a frozen, validated ``Recipe``.
* :mod:`.trainer` — ``train(recipe, out_dir, resume=...)``; :mod:`.checkpoint`, :mod:`.data`.

Only :mod:`.step`, :mod:`.data` and :mod:`.recipe` (with :mod:`pretrainzero.engines`) are torch-free,
so the step can be driven by other learners (the OpenRLHF backend runs it on its own vLLM engines).
"""
