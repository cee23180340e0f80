"""Reinforcement active pretraining: samplers, the PretrainZero step, RL algorithms, the embedded trainer.

Nothing here imports torch at module level except the trainer-side modules (``hf_sampler``,
``algorithms``, ``checkpoint``, ``trainer``), so the engine-agnostic step can be reused by other
learners (the OpenRLHF backend drives :mod:`pretrainzero.rl.step` on its own vLLM engines).
"""
