"""Every shell line the README shows is accounted for, so a command added there without a test fails here.

Each line of every ```bash block is one of:

* run by a test as written (the Quick tour and corpus examples: ``test_readme_tour.py``; the
  OpenRLHF dry runs and the prompt export: ``test_openrlhf_launch.py``; ``scripts/gpu_smoke.sh``,
  which stops with exit 2 without a GPU stack: ``test_openrlhf_smoke.py``);
* run here: the SFT-only cold start (on the ``tiny`` model, a shorter cold start) and the OpenRLHF
  dry run started from its checkpoint;
* a synopsis with ``[optional]`` parts: every flag it shows must be one the verb accepts;
* a ``make`` target (must exist: ``make -n``), a benchmark script (its flags must parse), or a line
  that needs what a CPU test machine lacks (CUDA packages, a GPU, a Ray cluster), named below.

Run: pytest tests/test_readme_commands.py
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pretrainzero.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")

# lines a CPU test machine cannot run, and why (matched on their first words)
NEEDS_GPU_OR_CLUSTER = {
    ("pip", "install", "-e", ".[openrlhf]"): "installs the CUDA stack (vllm, deepspeed, flash-attn)",
    ("ray", "start"): "starts a Ray cluster node",
    (".venv/bin/pytest", "-m", "slow"): "the slow tests (minutes)",
    # a real launch: without the GPU stack it is refused in one line (test_openrlhf_launch)
    ("pretrainzero", "train", "--backend", "openrlhf", "--recipe", "agents/paper-qwen3-4b.yaml", "--out",
     "runs/qwen3-4b"): "launches OpenRLHF on GPUs",
}


def sections() -> list[tuple[str, list[list[str]]]]:
    """``(heading, commands)`` per bash block: continuations joined, ``a; b`` split, comments dropped."""
    out: list[tuple[str, list[list[str]]]] = []
    heading = ""
    for part in re.split(r"(^#{1,4} [^\n]*$|^```\w*\n.*?^```)", README, flags=re.M | re.S):
        if part.startswith("#"):
            heading = part
        elif part.startswith("```bash\n"):
            commands: list[list[str]] = []
            for line in part[len("```bash\n"):-3].replace("\\\n", " ").splitlines():
                argv: list[str] = []
                for word in shlex.split(line, comments=True):
                    argv.append(word.removesuffix(";"))
                    if word.endswith(";"):
                        commands.append(argv)
                        argv = []
                commands += [argv] if argv else []
            out.append((heading, commands))
    return out


def _covered_elsewhere(heading: str, argv: list[str]) -> bool:
    if heading in ("## Quick tour", "### Registering your corpus"):
        return True  # test_readme_tour.py reads and runs these blocks
    if heading == "## Many GPUs":  # test_openrlhf_launch.py / test_openrlhf_smoke.py
        dry = argv[:2] == ["pretrainzero", "train"] and "--dry-run" in argv
        return dry or argv[:2] == ["pretrainzero", "export"] or argv[0] == "scripts/gpu_smoke.sh"
    return False


def _unknown_flags(verb: str, flags: set[str]) -> set[str]:
    """The flags of ``flags`` that ``pretrainzero <verb>`` does not accept."""
    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return flags - {s for a in subparsers.choices[verb]._actions for s in a.option_strings}


def test_every_readme_command_is_accounted_for():
    seen: list[list[str]] = []
    for heading, commands in sections():
        for argv in commands:
            seen.append(argv)
            if _covered_elsewhere(heading, argv) or any(tuple(argv[: len(k)]) == k for k in NEEDS_GPU_OR_CLUSTER):
                continue
            if argv in SFT_THEN_OPENRLHF:
                continue  # test_sft_only_then_openrlhf_runs_as_written
            if argv[0] == "make":
                done = subprocess.run(["make", "-n", "-C", str(REPO), argv[1], "VENV=/nonexistent-venv"],
                                      capture_output=True, text=True)
                assert done.returncode == 0, f"README shows `{shlex.join(argv)}`: {done.stderr.strip()}"
            elif argv[0] == "python" and argv[1].startswith("benchmarks/"):
                done = subprocess.run([sys.executable, str(REPO / argv[1]), "--help"], capture_output=True, text=True)
                flags = [w for w in argv[2:] if w.startswith("--")]
                assert done.returncode == 0 and all(f in done.stdout for f in flags), shlex.join(argv)
            elif argv[0] == "pretrainzero" and any("[" in w for w in argv):  # a synopsis
                flags = {w.strip("[]") for w in argv if w.strip("[").startswith("--")}
                assert not _unknown_flags(argv[1], flags), f"README synopsis `{shlex.join(argv)}`: unknown flags"
                assert (REPO / argv[argv.index("--recipe") + 1]).is_file() if "--recipe" in argv else True
            else:
                pytest.fail(f"README shows `{shlex.join(argv)}` (under {heading!r}) but no test runs it")
    assert len(seen) >= 25 and all(c in seen for c in SFT_THEN_OPENRLHF)


SFT_THEN_OPENRLHF = [shlex.split(c) for c in (
    "pretrainzero train --recipe agents/smollm2-135m-cpu.yaml --steps 0 --out runs/sft",
    "pretrainzero train --backend openrlhf --recipe agents/smollm2-135m-cpu.yaml --set "
    "model=runs/sft/checkpoints/step-000000 --set sft=null --set 'openrlhf={gpus_per_node: 1, packing: false, "
    "attn_implementation: sdpa}' --set dtype=bfloat16 --dry-run",
)]


def test_sft_only_then_openrlhf_runs_as_written(tmp_path, monkeypatch, capsys):
    """The README's SFT-only line, on ``tiny`` with a 2-step cold start, then the OpenRLHF line from its
    checkpoint. The cold start and the held-out evaluations report progress as log lines (no terminal)."""
    shutil.copytree(REPO / "agents", tmp_path / "agents")
    monkeypatch.chdir(tmp_path)
    sft, launch = SFT_THEN_OPENRLHF
    quick = ["--set", "model=tiny", "--set", "sft.steps=2", "--set", "heldout_n=2", "--set", "heldout_samples=0"]
    assert main(sft[1:] + quick) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "runs" / "sft" / "checkpoints" / "step-000000" / "model.safetensors").is_file()
    assert re.search(r"^SFT cold start: 2/2 step \(100%", out, re.M), out  # progress, not a silent phase
    assert len(re.findall(r"^held-out: \d+/\d+ gen \(100%", out, re.M)) >= 2, out
    assert main(launch[1:]) == 0
    line = capsys.readouterr().out.strip()
    assert "--actor.model_name_or_path " + str(tmp_path / "runs/sft/checkpoints/step-000000") in line
