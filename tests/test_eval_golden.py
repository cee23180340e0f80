"""Golden prompts and verdicts: every protocol x benchmark it covers, on our own made-up fixtures.

The expected output (``fixtures/eval/golden_protocols.json``) was rendered before benchmarks moved
to one module each and protocols to per-kind recipes; a refactor that changes one prompt byte, one
decoding setting or one verdict of an existing protocol version fails here. Regenerate only for a
deliberate change that bumps the protocol version:
``PYTHONPATH=. python tests/test_eval_golden.py --write``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pretrainzero.eval.benchmarks import load_benchmark
from pretrainzero.eval.cache import prompt_hash
from pretrainzero.eval.protocols import PROTOCOLS

FIX = Path(__file__).parent / "fixtures" / "eval"
GOLDEN = FIX / "golden_protocols.json"
N_ITEMS = 2
# Responses every item is graded on besides the protocol's own model response of the gold.
CANNED = (
    "",
    "The answer is (B).",
    "Answer: C",
    "So the final answer is $\\boxed{A}$.",
    "User: hi\nAssistant: \\boxed{D} done",
    "Final Answer: 3\n",
    "the answer is 7",
)


def render(protocol_id: str) -> dict[str, Any]:
    """Prompts, prompt hashes, decoding and verdicts of ``protocol_id`` on the first items of each fixture."""
    protocol = PROTOCOLS[protocol_id]
    out: dict[str, Any] = {}
    for name in protocol.benchmarks:
        bench = load_benchmark(name, FIX, check_rows=False, allow_hub=False)
        samples = list(bench.samples[:N_ITEMS])
        decoding = protocol.decoding(name)
        responses = [[protocol.model_response(s.answer), *CANNED] for s in samples]
        flat = [(s, r) for s, rs in zip(samples, responses, strict=True) for r in rs]
        extracted = [protocol.extract(r, s) for s, r in flat]
        verdicts = protocol.score_batch(extracted, [s for s, _ in flat], decoding.seed)
        items = []
        for k, s in enumerate(samples):
            prompt = protocol.build_prompt(s, bench)
            n = len(responses[k])
            part = slice(k * n, (k + 1) * n)
            cases = [[r, e, sc, miss] for r, e, (sc, miss) in
                     zip(responses[k], extracted[part], verdicts[part], strict=True)]
            items.append({"id": s.id, "prompt": prompt, "prompt_hash": prompt_hash(prompt), "cases": cases})
        out[name] = {"decoding": decoding.as_dict(), "chat_template": protocol.chat_template, "items": items}
    return out


def render_all() -> dict[str, Any]:
    return {pid: {"version": p.version, "benchmarks": render(pid)} for pid, p in PROTOCOLS.items()}


@pytest.mark.parametrize("pid", sorted(PROTOCOLS))
def test_prompts_and_verdicts_match_golden(pid: str) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert pid in golden, f"{pid} has no golden output; a new protocol needs one (run this file with --write)"
    expected = golden[pid]
    assert PROTOCOLS[pid].version == expected["version"]
    got = json.loads(json.dumps(render(pid)))  # tuples -> lists, as stored
    assert sorted(got) == sorted(expected["benchmarks"])
    for name, want in expected["benchmarks"].items():
        assert got[name] == want, f"{pid} / {name} differs from the golden output"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: PYTHONPATH=. python tests/test_eval_golden.py --write")
    GOLDEN.write_text(json.dumps(render_all(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(GOLDEN)
