"""Layering rules read from the source (AST), so a regression fails here rather than in review.

* Registration flows one way: the corpus layer never imports the env layer (envs observe corpora).
* The game's rules are composed once: only ``pretrainzero/game.py`` turns completions into
  predictions and scores (``extract_prediction``/``exact_match``/``prefix_match``) or parses a
  proposed mask (``last_mask``); envs, the RL step, held-out eval and verifiers call it.
* One masker registry: ``MASKERS`` is defined only in ``pretrainzero/masking.py``.
* One left-padding helper: position ids are derived from an attention mask (``mask.cumsum(-1) - 1``)
  only in ``pretrainzero/engines/padding.py``; every left-padded batch is built there.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "pretrainzero"


def modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(PKG.parent)): ast.parse(p.read_text(encoding="utf-8")) for p in PKG.rglob("*.py")}


def imported(tree: ast.Module, path: str) -> set[str]:
    """Absolute names of every module ``tree`` imports, at any depth (function-level too)."""
    package = path.removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def called(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


def test_corpus_layer_does_not_import_the_env_layer():
    for path, tree in modules().items():
        if path.startswith("pretrainzero/corpus/"):
            bad = {m for m in imported(tree, path) if m.startswith("pretrainzero.envs")}
            assert not bad, f"{path} imports {bad}: envs must observe corpora, not the reverse"


def test_prediction_scoring_and_mask_parsing_live_in_game_only():
    allowed = {"pretrainzero/game.py", "pretrainzero/rewards.py", "pretrainzero/parsing.py"}
    for path, tree in modules().items():
        if path in allowed:
            continue
        calls = called(tree) & {"extract_prediction", "exact_match", "prefix_match"}
        assert not calls, f"{path} recomposes prediction scoring ({calls}); use pretrainzero.game.PredictionRule"
        if path != "pretrainzero/agents.py":  # the oracle checks its own answer parses back
            assert "last_mask" not in called(tree), f"{path} parses masks itself; use pretrainzero.game.parse_mask"


def test_one_masker_registry():
    owners = [
        path
        for path, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and any(isinstance(t, ast.Name) and t.id == "MASKERS"
                for t in getattr(node, "targets", [getattr(node, "target", None)]))
    ]
    assert owners == ["pretrainzero/masking.py"]


def test_one_left_padding_helper():
    """Positions from a mask's running count are the mark of hand-written left padding."""
    owners = [path for path, tree in modules().items() if ".cumsum(-1) - 1" in ast.unparse(tree)]
    assert owners == ["pretrainzero/engines/padding.py"], owners
