"""verifiers entry module for every pretrainzero env.

``vf-eval pretrainzero-vf --env.taskset.env-id pretrainzero/wiki-vital-en-MaskedSpan-v1 ...``
(verifiers maps the id ``pretrainzero-vf`` to this top-level module, which must export exactly
one Taskset).
"""

from pretrainzero.verifiers_tasks import PretrainZeroTaskset

__all__ = ["PretrainZeroTaskset"]
