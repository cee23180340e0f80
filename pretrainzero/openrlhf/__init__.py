"""The OpenRLHF backend: the two-role PretrainZero step on many GPUs (Ray + DeepSpeed + vLLM).

OpenRLHF 0.11.2 keeps what it is good at (its CLI and checks, Ray placement, vLLM engines,
DeepSpeed training, weight sync, sleep/wake, checkpoints, logging); this package replaces only the
rollout source and the advantages:

* :mod:`.config` — the recipe's ``openrlhf:`` section (placement, memory, plug-in).
* :mod:`.launch` — recipe -> OpenRLHF's dotted flags (``pretrainzero train --backend openrlhf``),
  with the refusals; imports neither ray nor openrlhf, so ``--dry-run`` works anywhere.
* :mod:`.batch` — the fixed per-step sample count ``S`` (OpenRLHF needs a constant batch).
* :mod:`.layout` — a step's two-role samples as OpenRLHF ``Experience`` objects, padded to ``S``
  with ghost samples that carry no loss; advantages from our ``Algorithm`` on explicit groups.
* :mod:`.experience` — ``RemoteExperienceMaker`` with those advantages (its only override).
* :mod:`.rollout` — an ``Engine`` over OpenRLHF's vLLM engine actors (token ids in and out).
* :mod:`.agent_plugin` — the ``AgentExecutor`` file those engines load (``--train.agent_func_path``).
* :mod:`.trainer` — ``PretrainZeroTrainer``, a ``BasePPOTrainer`` that runs ``pretrainzero_step``.
* :mod:`.train_ppo_ray` — ``python -m pretrainzero.openrlhf.train_ppo_ray <dotted flags>``:
  OpenRLHF's own parser and ``train()`` with our trainer bound in.
* :mod:`.stock_agent` — single-role plug-in for stock OpenRLHF on any registered env, over the
  prompt file :func:`export_prompts` writes (:mod:`.export`).

Only :mod:`.config`, :mod:`.launch`, :mod:`.batch` and :mod:`.export` import without OpenRLHF; the
rest need ``openrlhf==0.11.2`` (and Ray, vLLM, DeepSpeed on a GPU machine).
"""

from __future__ import annotations

from .export import export_prompts

__all__ = ["export_prompts"]
