"""Export a training run as a plain Hugging Face model folder.

``export_model(run_or_checkpoint, out)`` copies the model of a run's newest intact checkpoint (or
of one checkpoint folder) into ``out``: ``config.json``, ``generation_config.json``, the
safetensors weights and the tokenizer files, plus a short ``README.md`` model card. Optimizer,
scheduler and RNG states, ``state.json`` and the manifest stay behind, so the folder is what
``AutoModelForCausalLM.from_pretrained(out)`` and the Hub expect. The folder is written under a
temporary name and renamed into place: an interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .checkpoint import checkpoint_step, list_checkpoints, newest_intact_checkpoint, verify_checkpoint

# What a plain HF causal-LM folder holds; everything else in a checkpoint is training state.
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)


@dataclass(frozen=True)
class Exported:
    """Where the model went and where it came from."""

    out: Path
    checkpoint: Path
    step: int
    skipped: tuple[str, ...]  # newer checkpoints that failed their checks, with the reason


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / "checkpoints").is_dir()


def is_checkpoint(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and (path / "state.json").is_file()


def pick_checkpoint(target: Path, step: int | None = None) -> tuple[Path, tuple[str, ...]]:
    """The checkpoint to export from a run folder (newest intact, or ``step``) or a checkpoint folder."""
    if is_checkpoint(target):
        problem = verify_checkpoint(target)
        if problem:
            raise UserError(f"checkpoint {target} is damaged ({problem}); export another one")
        return target, ()
    if not is_run_folder(target):
        raise UserError(
            f"{target} is neither a run folder (with checkpoints/step-*) nor a checkpoint folder "
            "(with config.json and state.json)"
        )
    if step is not None:
        chosen = [p for p in list_checkpoints(target / "checkpoints") if checkpoint_step(p) == step]
        if not chosen:
            have = ", ".join(str(checkpoint_step(p)) for p in list_checkpoints(target / "checkpoints")) or "none"
            raise UserError(f"{target} has no checkpoint of step {step} (steps: {have})")
        return pick_checkpoint(chosen[0])
    path, bad = newest_intact_checkpoint(target / "checkpoints")
    if path is None:
        why = "; ".join(f"{p.name}: {reason}" for p, reason in bad) or "no checkpoints"
        raise UserError(f"{target} has no intact checkpoint to export ({why})")
    return path, tuple(f"{p.name}: {reason}" for p, reason in bad)


def _model_card(checkpoint: Path, run: Path | None) -> str:
    recipe: dict = {}
    if run is not None and (run / "recipe.json").is_file():
        try:
            recipe = json.loads((run / "recipe.json").read_text())
        except ValueError:
            recipe = {}
    lines = [
        "---",
        "library_name: transformers",
        "tags: [pretrainzero, reinforcement-learning]",
        "---",
        "",
        f"# {recipe.get('name', checkpoint.parent.parent.name)} (step {checkpoint_step(checkpoint)})",
        "",
        "Trained with PretrainZero (reinforcement active pretraining, arXiv 2512.03442) by the "
        "`pretrainzero` embedded trainer.",
        "",
    ]
    for key in ("model", "corpus", "mode", "algorithm", "steps", "lr"):
        if key in recipe:
            lines.append(f"- {key}: `{recipe[key]}`")
    return "\n".join(lines) + "\n"


def export_model(target: str | Path, out: str | Path, *, step: int | None = None, overwrite: bool = False) -> Exported:
    """Write the model of ``target`` (run folder or checkpoint) to ``out`` as a plain HF folder."""
    target, out = Path(target), Path(out)
    checkpoint, skipped = pick_checkpoint(target, step)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UserError(f"--out {out} exists and is not empty; choose a new folder or pass --overwrite")
    names = sorted(
        p.name for p in checkpoint.iterdir() if p.is_file() and any(fnmatch.fnmatch(p.name, g) for g in MODEL_FILES)
    )
    if "config.json" not in names or not any(n.endswith(".safetensors") for n in names):
        raise UserError(f"checkpoint {checkpoint} has no config.json or safetensors weights to export")
    try:  # the folder is built next to --out and renamed into place: a failure names --out, not the temp folder
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create a folder in {out.parent} ({exc.strerror or exc}); "
                        "choose a writable place") from None
    try:
        for name in names:
            shutil.copy2(checkpoint / name, tmp / name)
        run = target if is_run_folder(target) else None
        (tmp / "README.md").write_text(_model_card(checkpoint, run), encoding="utf-8")
        if out.exists():
            aside = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, aside)
            os.replace(tmp, out)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Exported(out, checkpoint, checkpoint_step(checkpoint), skipped)


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False) -> str:
    """Upload an exported folder to the Hugging Face Hub (needs network and a token); returns the URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="pretrainzero export")
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo_id}")
