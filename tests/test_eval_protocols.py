"""Protocols: prompts, decoding, extraction paths (canned responses), seeded misses, YAML agreement."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml

from pretrainzero.eval import extract as ex
from pretrainzero.eval.benchmarks import LoadedBenchmark, Sample, load_benchmark
from pretrainzero.eval.protocols import PROTOCOLS, get_protocol, protocol_yaml, seeded_letter

FIX = Path(__file__).parent / "fixtures" / "eval"
CANNED = json.loads((FIX / "canned_responses.json").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[1]


def _bench(name: str) -> LoadedBenchmark:
    return load_benchmark(name, FIX, check_rows=False, allow_hub=False)


# ------------------------------------------------------------------ canned extractor paths


@pytest.mark.parametrize("case", CANNED["gr_boxed_letter"], ids=lambda c: c["path"])
def test_gr_boxed_letter(case: dict) -> None:
    assert ex.gr_boxed_letter(case["response"]) == case["expected"]


@pytest.mark.parametrize("case", CANNED["qwen_math_answer"], ids=lambda c: c["path"])
def test_qwen_math_answer(case: dict) -> None:
    assert ex.qwen_math_answer(case["response"]) == case["expected"]


@pytest.mark.parametrize("case", CANNED["tiger_mmlu_pro"], ids=lambda c: c["path"])
def test_tiger_cascade(case: dict) -> None:
    assert ex.tiger_mmlu_pro(case["response"]) == (case["expected"], case["level"])


@pytest.mark.parametrize("case", CANNED["supergpqa_letter"], ids=lambda c: c["path"])
def test_supergpqa_letter(case: dict) -> None:
    options = case.get("options", [f"opt{i}" for i in range(10)])
    assert ex.supergpqa_letter(case["response"], options, five_shot=case.get("five_shot", False)) == case["expected"]


@pytest.mark.parametrize("case", CANNED["gr_boxed_text"], ids=lambda c: c["path"])
def test_gr_boxed_text(case: dict) -> None:
    assert ex.gr_boxed_text(case["response"]) == case["expected"]


def test_gsm8k_gold() -> None:
    assert ex.gsm8k_gold("steps <<2*9=18>>\n#### 18") == "18"
    assert ex.gsm8k_gold("#### 1,234") == "1234"
    with pytest.raises(ValueError):
        ex.gsm8k_gold("no marker")


# The official SuperGPQA label regexes (eval/eval.py, after f-string processing), kept here only to
# check that our backtracking-safe rewrite accepts exactly the same strings and returns the same letter.
_W = r"(?:[\*\$\{(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*"
_S = r"(?:\\?\}?\$?\)?\]?\}?)*(?:[\s:\.\*)]|$)"
OFFICIAL = [
    r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is?:?\s*" + _W + r"\s*([ABCDEFGHIJ])" + _S,
    r"(?i:Answer)[\*\s]*:\s*" + _W + r"\s*([ABCDEFGHIJ])" + _S,
    r"^[^\w\r\n]*" + _W + r"\s*([ABCDEFGHIJ])" + _S,
]


def _official_label(text: str) -> str | None:
    text = text.rstrip()
    for candidate in (text.split("\n")[-1], text):
        for pattern in OFFICIAL:
            m = re.search(pattern, candidate, re.IGNORECASE)
            if m:
                return m.group(1)
    return None


def test_supergpqa_rewrite_matches_official_on_fuzz() -> None:
    rng = random.Random(7)
    atoms = ["The answer is ", "the best option is", "Answer:", "ANSWER: ", " ", "\n", "(", ")", "[", "]", "{", "}",
             "$", "*", "\\", "\\boxed{", "\\text{", "\\mathbf{", "A", "B", "c", "J", "K", ".", ":", "x", "is "]
    for _ in range(3000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 9)))
        assert ex.supergpqa_option_label(text) == _official_label(text), text


_WC = r"(?:[\*\$\{\(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*"


def _official_content(text: str, options: list[str]) -> str | None:
    alts = "|".join(re.escape(o) for o in options)
    patterns = [
        r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is:?\s*" + _WC + r"\s*(" + alts + ")" + _S,
        r"(?i:Answer)\s*" + _WC + r"\s*(" + alts + ")" + _S,
        r"^[^\w\r\n]*" + _WC + r"\s*(" + alts + ")" + _S,
    ]
    text = text.rstrip()
    for candidate in (text.split("\n")[-1], text):
        for pattern in patterns:
            m = re.search(pattern, candidate)
            if m:
                return m.group(1)
    return None


def test_supergpqa_content_rewrite_matches_official_on_fuzz() -> None:
    rng = random.Random(11)
    options = ["$5", "(a) both", "5", "Milleta", "x"]
    atoms = ["The answer is ", "Answer", ": ", " ", "\n", "(", ")", "$", "*", "\\boxed{", "}", ".", *options]
    for _ in range(2000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 8)))
        assert ex.supergpqa_option_content(text, options) == _official_content(text, options), text


def test_supergpqa_rewrite_does_not_backtrack_catastrophically() -> None:
    import time

    start = time.perf_counter()
    ex.supergpqa_option_label("The answer is " + "$(" * 2000 + "!")
    ex.supergpqa_option_label("Answer: " + "}" * 5000 + "x")
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------------ prompts


def test_pz_mcq_prompt_is_general_reasoner_format() -> None:
    bench = _bench("mmlu_pro")
    msgs = get_protocol("pz-0shot-boxed").build_prompt(bench.samples[1], bench)
    # General-Reasoner's eval_mmlupro.py wording: "option letter".
    assert msgs == [{"role": "user", "content": "What is 2 + 3?\nOptions are:\n(A): 4\n(B): 6\n(C): 5\n(D): 7\n\n\n"
                     "Please reason step by step, and put your final answer option within \\boxed{}. Only put the "
                     "option letter in the box, e.g. \\boxed{A}. There is only one correct answer."}]


def test_pz_mcq_wording_is_per_benchmark() -> None:
    p = get_protocol("pz-0shot-boxed")
    sg = _bench("supergpqa")
    text = p.build_prompt(sg.samples[0], sg)[0]["content"]
    assert "Only put the letter in the box" in text and "option letter" not in text.split("final answer option")[1]


def test_pz_math_prompt_has_system_and_boxed_instruction() -> None:
    bench = _bench("gsm8k")
    msgs = get_protocol("pz-0shot-boxed").build_prompt(bench.samples[0], bench)
    assert msgs[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert msgs[1]["content"].endswith("\n\nPlease reason step by step, and put your final answer within \\boxed{}.")


def test_pz_decoding_greedy_and_mean_at_32() -> None:
    p = get_protocol("pz-0shot-boxed")
    d = p.decoding("gsm8k")
    assert (d.temperature, d.k, d.max_new_tokens) == (0.0, 1, 8192)
    for name in ("amc23", "aime24", "aime25"):
        assert p.decoding(name).k == 32 and p.decoding(name).temperature == 1.0
    with pytest.raises(ValueError):
        get_protocol("mmlu-pro-official").decoding("gsm8k")


def test_tiger_prompt_shots_same_category_na_dropped() -> None:
    bench = _bench("mmlu_pro")
    p = get_protocol("mmlu-pro-official")
    prompt = p.build_prompt(bench.samples[2], bench)  # a "math" question with an N/A option
    assert isinstance(prompt, str)
    assert prompt.startswith("The following are multiple choice questions (with answers) about math. "
                             "Think step by step")
    # initial_prompt.txt ends with three newlines and the official script adds one: four.
    assert 'letter choice.\n\n\n\nQuestion:\nMade-up math validation question 0?' in prompt
    assert prompt.count("Question:\n") == 6 and "biology" not in prompt.split("\n\n", 1)[1]
    assert "N/A" not in prompt
    assert "Answer: Let's think step by step. Reasoning for math shot 0." in prompt
    assert prompt.endswith("Options:\nA. 2\nB. 2.5\nC. 3\nAnswer: Let's think step by step.")
    assert p.build_prompt(bench.samples[2], bench, n_shots=2).count("Question:\n") == 3
    assert p.decoding("mmlu_pro").stop == ("Question:",) and p.decoding("mmlu_pro").max_new_tokens == 2048


def test_supergpqa_prompts() -> None:
    bench = _bench("supergpqa")
    zero = get_protocol("supergpqa-official").build_prompt(bench.samples[1], bench)
    assert zero[0]["content"].startswith("Answer the following multiple choice question. There is only one correct")
    assert zero[0]["content"].endswith("\nH) Soyo\nI) Peaz\n")
    five = get_protocol("supergpqa-official-5shot").build_prompt(bench.samples[1], bench)
    assert isinstance(five, str) and five.count("Question: \n") == 6
    assert five.endswith("I) Peaz\n\nAnswer: Let's think step by step. \n")


# ------------------------------------------------------------------ scoring


def _mcq(answer: str = "B", n: int = 4, sid: str = "q1") -> Sample:
    return Sample(id=sid, question="q", answer=answer, choices=tuple(f"o{i}" for i in range(n)))


def test_seeded_letter_reproducible_and_in_range() -> None:
    letters = [seeded_letter("pz-0shot-boxed", 0, f"q{i}", 4) for i in range(200)]
    assert letters == [seeded_letter("pz-0shot-boxed", 0, f"q{i}", 4) for i in range(200)]
    assert set(letters) == set("ABCD")
    assert letters != [seeded_letter("pz-0shot-boxed", 1, f"q{i}", 4) for i in range(200)]


def test_mcq_miss_gets_seeded_guess_and_is_flagged() -> None:
    p = get_protocol("pz-0shot-boxed")
    s = _mcq()
    score, missed = p.score(None, s, rng_seed=3)
    assert missed and score == float(seeded_letter(p.id, 3, s.id, 4) == "B")
    assert p.score(None, s, rng_seed=3) == (score, True)
    assert p.score("B", s, 3) == (1.0, False) and p.score("J", s, 3) == (0.0, False)
    hits = sum(p.score(None, _mcq(sid=f"q{i}"), 0)[0] for i in range(400))
    assert 60 < hits < 140  # ~1/4 by chance


def test_supergpqa_miss_is_wrong_without_guess() -> None:
    p = get_protocol("supergpqa-official")
    assert all(p.score(None, _mcq(sid=f"q{i}", n=10), 0) == (0.0, True) for i in range(50))
    assert p.score("b", _mcq(n=10), 0) == (0.0, False)  # lower-case letter is wrong, as official


def test_tiger_guess_ranges_over_options_without_na() -> None:
    p = get_protocol("mmlu-pro-official")
    s = Sample(id="x", question="q", answer="A", choices=("a", "b", "N/A", "N/A"))
    assert p._n_options(s) == 2


def test_bbeh_scoring() -> None:
    bench = _bench("bbeh")
    p = get_protocol("pz-0shot-boxed")
    yes, paren = bench.samples[0], bench.samples[1]
    assert p.score(p.extract("so \\boxed{Yes}", yes), yes, 0) == (1.0, False)
    assert p.score(p.extract("\\boxed{B}", paren), paren, 0) == (1.0, False)  # (B) ~ b
    assert p.score(p.extract("nothing", yes), yes, 0) == (0.0, True)


# ------------------------------------------------------------------ YAML agreement


@pytest.mark.parametrize("pid", sorted(PROTOCOLS))
def test_protocol_yaml_matches_registry(pid: str) -> None:
    path = ROOT / "leaderboards" / "protocols" / f"{pid}.yaml"
    assert path.is_file(), f"missing {path}; run python -m pretrainzero.eval.protocols --write leaderboards/protocols"
    on_disk = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert on_disk == PROTOCOLS[pid].definition()
    assert yaml.safe_load(protocol_yaml(PROTOCOLS[pid])) == on_disk
    assert on_disk["id"] == pid and isinstance(on_disk["version"], int)


def test_no_stray_protocol_yaml() -> None:
    names = {p.stem for p in (ROOT / "leaderboards" / "protocols").glob("*.yaml")}
    assert names == set(PROTOCOLS)


def test_general_reasoner_assistant_cut_before_mcq_extraction() -> None:
    # A model that writes a dialogue: General-Reasoner keeps only the last "Assistant:" turn.
    dialogue = "Assistant: I think \\boxed{C}.\nUser: sure?\nAssistant: No, it is \\boxed{B}."
    assert ex.gr_boxed_letter(dialogue) == "B"
    assert ex.gr_model_output("User: q\nAssistant: \\boxed{D}") == "\\boxed{D}"
    chatml = "\\boxed{A}<|im_start|>user\nq<|im_end|><|im_start|>assistant\n\\boxed{E}"
    assert ex.gr_model_output(chatml).startswith("<|im_start|>assistant") and ex.gr_boxed_letter(chatml) == "E"
    assert ex.gr_boxed_text("The final pick.\nAssistant: \\boxed{yes}") == "yes"


def test_protocol_versions_and_changelog() -> None:
    pz, mp = get_protocol("pz-0shot-boxed"), get_protocol("mmlu-pro-official")
    assert pz.version == 2 and pz.versions == (1, 2) and mp.versions == (1, 2)
    assert get_protocol("supergpqa-official").versions == (1,)
    assert [c["version"] for c in pz.definition()["changelog"]] == [1, 2]
