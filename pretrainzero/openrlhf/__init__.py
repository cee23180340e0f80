"""The OpenRLHF backend: the two-role PretrainZero step on many GPUs (Ray + DeepSpeed + vLLM).

OpenRLHF 0.11.2 keeps what it is good at (its CLI and checks, Ray placement, vLLM engines,
DeepSpeed training, weight sync, sleep/wake, checkpoints, logging); this package replaces only the
rollout source and the advantages:

* :mod:`.batch` — the fixed per-step sample count ``S`` (OpenRLHF needs a constant batch).
* :mod:`.layout` — a step's two-role samples as OpenRLHF ``Experience`` objects, padded to ``S``
  with ghost samples that carry no loss; advantages from our ``Algorithm`` on explicit groups.
* :mod:`.experience` — ``RemoteExperienceMaker`` with those advantages (its only override).
* :mod:`.rollout` — an ``Engine`` over OpenRLHF's vLLM engine actors (token ids in and out).
* :mod:`.agent_plugin` — the ``AgentExecutor`` file those engines load (``--train.agent_func_path``).
* :mod:`.trainer` — ``PretrainZeroTrainer``, a ``BasePPOTrainer`` that runs ``pretrainzero_step``.
* :mod:`.train_ppo_ray` — ``python -m pretrainzero.openrlhf.train_ppo_ray <dotted flags>``:
  OpenRLHF's own parser and ``train()`` with our trainer bound in.

Only :mod:`.batch` imports without OpenRLHF; the rest need
``openrlhf==0.11.2`` (and Ray, vLLM, DeepSpeed on a GPU machine).
"""
