r"""Evaluation protocols: frozen, versioned, named recipes (prompt, decoding, extraction, grading).

A score belongs to exactly one ``(protocol id, version)``; leaderboards never put numbers of two
protocols in one column. ``leaderboards/protocols/<id>.yaml`` is the human-readable copy of
:meth:`Protocol.definition`; ``python -m pretrainzero.eval.protocols --write leaderboards/protocols``
regenerates it and a test fails when the two disagree. Change anything here → bump ``version``.

* ``pz-0shot-boxed`` — the protocol the PretrainZero paper's numbers follow (General-Reasoner's
  evaluation: chat template, zero-shot, answer in ``\boxed{}``, greedy, 8192 new tokens; AMC23 and
  AIME as mean@32 at temperature 1). MCQ misses get a seeded random letter; math is graded with
  Math-Verify (gold first) on the Qwen-Math-style extracted answer; BBEH with BBEH's fuzzy match.
* ``mmlu-pro-official`` — TIGER-Lab MMLU-Pro ``evaluate_from_local.py``: 5-shot CoT from the same
  category's validation rows, "N/A" options dropped, raw text (no chat template), greedy 2048
  tokens, stop at ``Question:``, 3-level extraction cascade, seeded random guess on a miss.
* ``supergpqa-official`` / ``supergpqa-official-5shot`` — SuperGPQA's zero-shot prompt (chat
  models, chat template) and fixed five-shot prompt (base models, raw text); greedy 4096 tokens;
  official extractor; a miss is wrong.

A protocol covers the benchmarks it lists (its entry for a benchmark is the name in
``benchmarks``) and prompts, extracts and grades each by the benchmark's *kind* (``mcq``, ``math``,
``text``), with per-benchmark overrides only where the official wording differs.

The random letter for a miss is a pure function of ``(protocol id, rng_seed, sample id)``, so a
run is reproducible from its recorded seed and independent of sample order or ``--limit``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import extract as ex
from .benchmarks import BENCHMARKS, Kind, LoadedBenchmark, Sample
from .grade import GRADER_ID, GRADER_VERSION, grade_bbeh, grade_math, grade_math_batch

Prompt = list[dict[str, str]] | str
# How each kind's extracted answer is graded against the gold (MCQ: letter equality, in score()).
OPEN_GRADERS: dict[Kind, Callable[[str | None, str], bool]] = {"math": grade_math, "text": grade_bbeh}


@dataclass(frozen=True)
class Decoding:
    """Generation settings; ``k`` samples per question are scored as mean@k."""

    temperature: float
    top_p: float
    max_new_tokens: int
    k: int
    seed: int
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_new_tokens": self.max_new_tokens,
                "k": self.k, "seed": self.seed, "stop": list(self.stop)}


def seeded_letter(protocol_id: str, rng_seed: int, sample_id: str, n_options: int) -> str:
    """The random guess for a miss: uniform over the first ``n_options`` letters, reproducible."""
    digest = hashlib.sha256(f"{protocol_id}|{rng_seed}|{sample_id}".encode()).digest()
    return ex.LETTERS[random.Random(int.from_bytes(digest[:8], "big")).randrange(n_options)]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Protocol:
    """Base class; subclasses implement prompts and extraction for the kinds they serve (``kinds``).

    ``benchmarks`` is the protocol's coverage (what its version froze); each must be of a kind in
    ``kinds``. Scoring follows the sample's kind: MCQ letters compare (a miss follows
    ``no_match``), math answers go to Math-Verify, text answers to BBEH's fuzzy match.
    """

    id: str
    version: int
    description: str
    benchmarks: tuple[str, ...]
    chat_template: bool
    default_decoding: Decoding
    decoding_overrides: tuple[tuple[str, Decoding], ...] = ()
    no_match: str = "wrong"  # "wrong" | "random-letter"
    # (version, what changed) for every version; a record of any listed version stays valid.
    changelog: tuple[tuple[int, str], ...] = ((1, "first version"),)
    kinds: tuple[Kind, ...] = ("mcq",)

    @property
    def versions(self) -> tuple[int, ...]:
        """Every version this protocol has had (records of each stay valid under theirs)."""
        return tuple(v for v, _ in self.changelog)

    def model_response(self, answer: str) -> str:
        r"""A response of a model that follows this protocol's instruction and answers ``answer``
        (the grader audit feeds it through :meth:`extract` and :meth:`score`)."""
        return f"Let me work through it step by step. So the final answer is $\\boxed{{{answer}}}$."

    def supports(self, benchmark: str) -> bool:
        return benchmark in self.benchmarks

    def covered(self, kind: Kind) -> list[str]:
        """The covered benchmarks of ``kind``, in coverage order."""
        return [b for b in self.benchmarks if b in BENCHMARKS and BENCHMARKS[b].kind == kind]

    def check_coverage(self) -> None:
        """Every covered benchmark is registered and of a kind this protocol serves."""
        for b in self.benchmarks:
            if b not in BENCHMARKS:
                raise ValueError(f"protocol {self.id!r} covers unknown benchmark {b!r}")
            if BENCHMARKS[b].kind not in self.kinds:
                raise ValueError(f"protocol {self.id!r} covers {b!r} of kind {BENCHMARKS[b].kind!r}, "
                                 f"but serves only {', '.join(self.kinds)}")

    def _require(self, benchmark: str) -> None:
        if not self.supports(benchmark):
            raise ValueError(f"protocol {self.id!r} does not define {benchmark!r}; "
                             f"it covers {', '.join(self.benchmarks)}")

    def decoding(self, benchmark: str) -> Decoding:
        self._require(benchmark)
        return dict(self.decoding_overrides).get(benchmark, self.default_decoding)

    def build_prompt(self, sample: Sample, bench: LoadedBenchmark) -> Prompt:
        raise NotImplementedError

    def extract(self, response: str, sample: Sample) -> str | None:
        raise NotImplementedError

    def score(self, extracted: str | None, sample: Sample, rng_seed: int) -> tuple[float, bool]:
        """(score in [0, 1], missed). MCQ misses follow ``no_match``; other misses score 0."""
        missed = extracted is None
        if sample.kind == "mcq":
            if missed and self.no_match == "random-letter":
                guess = seeded_letter(self.id, rng_seed, sample.id, self._n_options(sample))
                return float(guess == sample.answer), True
            return float(extracted == sample.answer), missed
        return float(OPEN_GRADERS[sample.kind](extracted, sample.answer)), missed

    def score_batch(self, extracted: Sequence[str | None], samples: Sequence[Sample], rng_seed: int,
                    workers: int | None = None) -> list[tuple[float, bool]]:
        """:meth:`score` for many items; math answers are graded in parallel in one pool pass."""
        if len(extracted) != len(samples):
            raise ValueError("extracted and samples differ in length")
        out: list[tuple[float, bool] | None] = [None] * len(samples)
        math_idx = [i for i, s in enumerate(samples) if s.kind == "math"]
        verdicts = grade_math_batch([extracted[i] for i in math_idx], [samples[i].answer for i in math_idx],
                                    workers=workers)
        for i, ok in zip(math_idx, verdicts, strict=True):
            out[i] = (float(ok), extracted[i] is None)
        for i, s in enumerate(samples):
            if out[i] is None:
                out[i] = self.score(extracted[i], s, rng_seed)
        return [o for o in out if o is not None]

    def _n_options(self, sample: Sample) -> int:
        return len(sample.choices or ())

    def definition(self) -> dict[str, Any]:
        """Everything that defines the protocol, as plain data (the YAML file's content)."""
        return {
            "id": self.id,
            "version": self.version,
            "description": self.description,
            "benchmarks": list(self.benchmarks),
            "chat_template": self.chat_template,
            "decoding": {
                "default": self.default_decoding.as_dict(),
                "overrides": {name: d.as_dict() for name, d in self.decoding_overrides},
            },
            "no_match": {
                "policy": self.no_match,
                "applies_to": "multiple-choice items; an open-answer item (math, BBEH) with nothing extracted scores 0",
                "seed_rule": "sha256('<protocol id>|<rng_seed>|<sample id>') -> random.Random -> randrange(n_options); "
                             "rng_seed = the benchmark's decoding seed unless the run overrides it (recorded)"
                if self.no_match == "random-letter" else None,
                "reported": "miss rate, and accuracy both with the fallback and with misses counted wrong",
            },
            "changelog": [{"version": v, "change": c} for v, c in self.changelog],
        }


# --------------------------------------------------------------------------- pz-0shot-boxed

GR_MCQ_TEMPLATE = (
    "{question}\nOptions are:\n{options}\n\nPlease reason step by step, and put your final answer option within "
    "\\boxed{{}}. Only put the letter in the box, e.g. \\boxed{{A}}. There is only one correct answer."
)
# General-Reasoner's eval_mmlupro.py (chat-template branch) says "option letter"; its SuperGPQA
# script says "letter". MMLU and GPQA-Diamond are not in General-Reasoner and keep "letter".
GR_MMLU_PRO_TEMPLATE = GR_MCQ_TEMPLATE.replace("Only put the letter", "Only put the option letter")
GR_MCQ_OPTION = "({letter}): {option}\n"
GR_MATH_SYSTEM = "You are a helpful assistant."
GR_MATH_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
# Wording of a General-Reasoner eval_bbeh reimplementation ("final answer option"); the original
# script was not available to check, hence recorded as unverified in the YAML.
GR_BBEH_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer option within \\boxed{{}}."


@dataclass(frozen=True)
class ChatPrompt:
    """One kind's chat prompt: ``(role, template)`` messages filled with ``{question}`` (and
    ``{options}``, the option lines, for MCQ), the extractor of its answer, and its YAML section.
    A per-benchmark override changes the messages only; extraction stays the kind's."""

    section: str
    messages: tuple[tuple[str, str], ...]
    extract: Callable[[str], str | None] | None = None
    note: str = ""


@dataclass(frozen=True)
class BoxedZeroShot(Protocol):
    """General-Reasoner-style zero-shot boxed evaluation (see module doc): one chat prompt per kind
    (``prompts``), and per-benchmark prompts where General-Reasoner's wording differs (``overrides``)."""

    prompts: tuple[tuple[Kind, ChatPrompt], ...] = ()
    overrides: tuple[tuple[str, ChatPrompt], ...] = ()
    option_line: str = GR_MCQ_OPTION

    def recipe(self, sample: Sample, benchmark: str) -> ChatPrompt:
        return dict(self.overrides).get(benchmark) or dict(self.prompts)[sample.kind]

    def build_prompt(self, sample: Sample, bench: LoadedBenchmark) -> Prompt:
        self._require(bench.spec.name)
        options = "".join(self.option_line.format(letter=ex.LETTERS[i], option=o)
                          for i, o in enumerate(sample.choices or ()))
        return [{"role": role, "content": template.format(question=sample.question, options=options)}
                for role, template in self.recipe(sample, bench.spec.name).messages]

    def extract(self, response: str, sample: Sample) -> str | None:
        extractor = dict(self.prompts)[sample.kind].extract
        assert extractor is not None, f"{self.id}: the {sample.kind} prompt has no extractor"
        return extractor(response)

    def _prompt_section(self, prompt: ChatPrompt, kind: Kind, benchmarks: list[str]) -> dict[str, Any]:
        text = "".join(t for _, t in prompt.messages)
        section: dict[str, Any] = {"messages": [{"role": r, "content": t} for r, t in prompt.messages]}
        if kind == "mcq":
            section.update(option_line=self.option_line, benchmarks=benchmarks, drop_na_options=False,
                           sha256=_sha(text + self.option_line))
        else:
            section.update(benchmarks=benchmarks, sha256=_sha(text))
        if prompt.note:
            section["note"] = prompt.note
        return section

    def definition(self) -> dict[str, Any]:
        d = super().definition()
        overridden = dict(self.overrides)
        d["prompts"] = {}
        for kind, prompt in self.prompts:
            d["prompts"][prompt.section] = self._prompt_section(
                prompt, kind, [b for b in self.covered(kind) if b not in overridden])
            for b, special in self.overrides:
                if BENCHMARKS[b].kind == kind:
                    d["prompts"][special.section] = self._prompt_section(special, kind, [b])
        d["extraction"] = {
            "mcq": {"id": "gr_boxed_letter", "version": 2,
                    "rule": "strip <think>; General-Reasoner's cut (a response containing '<|im_start|>user' keeps the "
                            "text from its first '<|im_start|>assistant', else one containing 'Assistant:' keeps the "
                            "text after the last 'Assistant:'); cut at </s>, <|im_end|>, <|endoftext|>; last \\boxed{} "
                            "(nested braces) else last 'Final Answer:...\\n' else last 'The answer is:...\\n'; a "
                            "leading standalone letter A-J wins, "
                            "else the first of A..J occurring in the text (General-Reasoner's scan)",
                    "deviation": "General-Reasoner has no leading-letter rule, so it reads \\boxed{B. Acid} as A"},
            "math": {"id": "qwen_math_answer", "version": 1,
                     "rule": "strip <think>; Minerva 'final answer is $X$. I hope' > last \\boxed{} > 'he answer is' > "
                             "'final answer is' > last number; an unclosed \\boxed is a miss"},
            "bbeh": {"id": "gr_boxed_text", "version": 2,
                     "rule": "General-Reasoner's 'Assistant:' cut (as for mcq), then last \\boxed{} else last "
                             "'Final Answer:' line"},
        }
        d["grading"] = {
            "mcq": "extracted letter == gold letter",
            "math": {"id": GRADER_ID, "version": GRADER_VERSION,
                     "rule": "gold and prediction get the same normalisation (grade.normalize_answer: drop \\$ and "
                             "$, e-notation 4.5e33 -> 4.5\\times 10^{33}, drop trailing plain-word units of 2+ letters "
                             "after a number, a single letter is a variable); identical normalised strings are equal; "
                             "two plain "
                             "numbers differing relatively by more than 1e-6 are different; otherwise "
                             "math_verify.verify(parse(gold), parse(pred)) with gold first, bare answers wrapped in "
                             "\\boxed{}; process pool, 5 s parse/verify timeouts, hard wall-clock kill; hang/crash of "
                             "one item = wrong; workers that cannot start stop the run",
                     "note": "the paper used the Qwen2.5-Math grader; Math-Verify agrees on most items but not all"},
            "bbeh": {"id": "bbeh_fuzzy_match", "version": 1,
                     "rule": "google-deepmind/bbeh evaluate.py preprocessing + fuzzy_match"},
        }
        d["aggregation"] = {
            "per_benchmark": "micro mean over questions of mean@k", "math_avg": "see aggregate.MATH_AVG",
            "overall_avg": "see aggregate.OVERALL",
            "bbeh": "score = micro average over all items (what the paper and General-Reasoner report); also "
                    "recorded: metrics.harmonic_mean = BBEH's official headline, the harmonic mean over the 23 tasks "
                    "of per-task accuracy in percent, each +1 (the BBEH paper's adjusted harmonic mean, its guard "
                    "against a 0 task), as a fraction"}
        d["deviations"] = [
            "General-Reasoner's fallback letter is random.choice over A-J, unseeded; here it is seeded per sample and "
            "drawn over the item's own options",
            "math answers are graded by Math-Verify, not the GPT-4o judge of General-Reasoner nor the Qwen2.5-Math "
            "grader the paper names; extraction follows Qwen2.5-Math (last box with nested braces), not "
            "General-Reasoner's first-box-to-end-of-line regex",
        ]
        d["source"] = ("TIGER-AI-Lab/General-Reasoner evaluation/ "
                       "(eval_mmlupro.py, eval_supergpqa.py, eval_bbeh.py, simple-evals)")
        return d


# --------------------------------------------------------------------------- mmlu-pro-official

# cot_prompt_lib/initial_prompt.txt ends with three newlines and evaluate_from_local.py appends one
# more: four newlines before the first "Question:" (v1 had three).
TIGER_HEADER = ('The following are multiple choice questions (with answers) about {category}. Think step by step and '
                'then finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n\n')
TIGER_QUESTION = "Question:\n{question}\nOptions:\n{options}"
TIGER_OPTION = "{letter}. {option}\n"
TIGER_COT_PREFIX_IN = "A: Let's think step by step."
TIGER_COT_PREFIX_OUT = "Answer: Let's think step by step."


def _drop_na(options: Sequence[str]) -> list[str]:
    return [o for o in options if o != "N/A"]


@dataclass(frozen=True)
class TigerMMLUPro(Protocol):
    """TIGER-Lab's official MMLU-Pro local-model protocol."""

    n_shots: int = 5

    def _example(self, sample: Sample, with_answer: bool) -> str:
        options = "".join(TIGER_OPTION.format(letter=ex.LETTERS[i], option=o)
                          for i, o in enumerate(_drop_na(sample.choices or ())))
        text = TIGER_QUESTION.format(question=sample.question, options=options)
        if with_answer:
            cot = str(sample.meta.get("cot_content") or "").replace(TIGER_COT_PREFIX_IN, TIGER_COT_PREFIX_OUT)
            return text + cot + "\n\n"
        return text + TIGER_COT_PREFIX_OUT

    def shots(self, sample: Sample, bench: LoadedBenchmark, n_shots: int | None = None) -> list[Sample]:
        """The first ``n_shots`` validation rows of the sample's category, in file order."""
        k = self.n_shots if n_shots is None else n_shots
        return [s for s in bench.fewshot if s.category == sample.category][:k]

    def build_prompt(self, sample: Sample, bench: LoadedBenchmark, n_shots: int | None = None) -> Prompt:
        """Plain text prompt. The official script drops shots while the prompt is longer than
        ``4096 - 2048`` tokens; a backend that knows the tokenizer calls again with ``n_shots`` lower."""
        self._require(bench.spec.name)
        if not bench.fewshot:
            raise ValueError("mmlu-pro-official needs the MMLU-Pro validation split (LoadedBenchmark.fewshot)")
        prompt = TIGER_HEADER.format(category=sample.category)
        for shot in self.shots(sample, bench, n_shots):
            prompt += self._example(shot, with_answer=True)
        return prompt + self._example(sample, with_answer=False)

    def extract(self, response: str, sample: Sample) -> str | None:
        return ex.tiger_mmlu_pro(response)[0]

    def model_response(self, answer: str) -> str:
        return f" Let's think step by step. Putting it together, the answer is ({answer})."

    def _n_options(self, sample: Sample) -> int:
        return len(_drop_na(sample.choices or ()))  # random.randint(0, len(options) - 1) after N/A removal

    def definition(self) -> dict[str, Any]:
        d = super().definition()
        d["n_shots"] = self.n_shots
        d["prompts"] = {
            "text": {"header": TIGER_HEADER, "example": TIGER_QUESTION, "option_line": TIGER_OPTION,
                     "shot_answer": f"cot_content with '{TIGER_COT_PREFIX_IN}' -> '{TIGER_COT_PREFIX_OUT}', "
                                    "then blank line",
                     "query_suffix": TIGER_COT_PREFIX_OUT, "drop_na_options": True,
                     "shots": "first n_shots validation rows of the same category (file order); fewer while the prompt "
                              "exceeds 4096 - 2048 tokens",
                     "sha256": _sha(TIGER_HEADER + TIGER_QUESTION + TIGER_OPTION + TIGER_COT_PREFIX_OUT)},
        }
        d["extraction"] = {"id": "tiger_mmlu_pro", "version": 1,
                           "cascade": [r"answer is \(?([A-J])\)?", r".*[aA]nswer:\s*([A-J])",
                                       r"\b[A-J]\b(?!.*\b[A-J]\b) (DOTALL)"],
                           "rule": "first regex with a match wins (re.search: first match)"}
        d["grading"] = {"rule": "extracted letter == gold letter; micro average over all questions"}
        d["deviations"] = ["the random guess is per-sample (seed rule above) instead of one random.seed(12345) "
                           "stream consumed in file order, so it does not depend on order, batching or --limit"]
        d["source"] = "TIGER-AI-Lab/MMLU-Pro evaluate_from_local.py"
        return d


# --------------------------------------------------------------------------- supergpqa-official

SG_INSTRUCTION = ("Answer the following multiple choice question. There is only one correct answer. The last line of "
                  "your response should be in the format 'Answer: $LETTER' (without quotes), where LETTER is one of A, "
                  "B, C, D, E, F, G, H, I, or J.")
SG_ZERO_SHOT = SG_INSTRUCTION + "\n\n{block}\n"
SG_OPTION = "{letter}) {option}"
# The official five-shot prompt (config/prompt/five-shot.yaml of SuperGPQA/SuperGPQA): five fixed
# physics demonstrations. Trailing spaces inside the text are part of the official prompt.
SG_FIVE_SHOT = (
    SG_INSTRUCTION + "\n\n"
    "Question: \nA refracting telescope consists of two converging lenses separated by 100 cm. The eye-piece lens "
    "has a focal length of 20 cm. The angular magnification of the telescope is\nA) 10\nB) 40\nC) 6\nD) 25\nE) 15\n"
    "F) 50\n"
    "G) 30\nH) 4\nI) 5\nJ) 20\n\nAnswer: Let's think step by step. In a refracting telescope, if both lenses are "
    "converging, the focus of both lenses must be between the two lenses, and thus the focal lengths of the two lenses "
    "must add up to their separation. Since the focal length of one lens is 20 cm, the focal length of the other must "
    "be 80 cm. The magnification is the ratio of these two focal lengths, or 4.\nAnswer: H.\n\n"
    "Question: \nSay the pupil of your eye has a diameter of 5 mm and you have a telescope with an aperture of 50 cm. "
    "How much more light can the telescope gather than your eye? \nA) 1000 times more\nB) 50 times more\n"
    "C) 5000 times more\nD) 500 times more\nE) 10000 times more\nF) 20000 times more\nG) 2000 times more\n"
    "H) 100 times more\nI) 10 times more\nJ) N/A\n\nAnswer: Let's think step by step. The amount of light a telescope "
    "can gather compared to the human eye is proportional to the area of its apertures. The area of a circle is given "
    "by the formula $A = \\pi \\left(\\frac{D}{2}\\right)^2$, where $D$ is the diameter. Therefore, the relative "
    "light-gathering power is calculated as:\n\\[\n\\frac{\\left(\\frac{50 \\text{ cm}}{2}\\right)^2}{\\left(\\frac{5 "
    "\\text{ mm}}{2}\\right)^2} = \\frac{\\left(\\frac{50 \\text{ cm}}{0.1 \\text{ cm}}\\right)^2}{\\left(\\frac{5 "
    "\\text{ mm}}{0.1 \\text{ cm}}\\right)^2} = \\frac{500^2}{5^2} = 10000.\n\\]\nAnswer: E.\n\n"
    "Question: \nWhere do most short-period comets come from and how do we know? \nA) The Kuiper belt; short period "
    "comets tend to be in the plane of the solar system like the Kuiper belt. \nB) The asteroid belt; short period "
    "comets tend to come from random directions indicating a spherical distribution of comets called the asteroid "
    "belt. "
    "\nC) The asteroid belt; short period comets tend to be in the plane of the solar system just like the asteroid "
    "belt. \nD) The Oort cloud; short period comets have orbital periods similar to asteroids like Vesta and are found "
    "in the plane of the solar system just like the Oort cloud. \nE) The Oort Cloud; short period comets tend to come "
    "from random directions indicating a spherical distribution of comets called the Oort Cloud. \nF) The Oort cloud; "
    "short period comets tend to be in the plane of the solar system just like the Oort cloud. \nG) The asteroid belt; "
    "short period comets have orbital periods similar to asteroids like Vesta and are found in the plane of the solar "
    "system just like the asteroid belt. \nAnswer: Let's think step by step. Most short-period comets originate from "
    "the Kuiper belt. This is deduced from the observation that these comets tend to follow orbits that lie in the "
    "plane of the solar system, similar to the distribution of objects in the Kuiper belt itself. Thus, the alignment "
    "of these cometary orbits with the ecliptic plane points to their Kuiper belt origin.\nAnswer: A.\n\n"
    "Question: \nColors in a soap bubble result from light \nA) dispersion \nB) deflection \nC) refraction \n"
    "D) reflection \nE) interference \nF) converted to a different frequency \nG) polarization \nH) absorption \n"
    "I) diffraction \nJ) transmission \n\nAnswer: Let's think step by step. The colorful patterns observed in a soap "
    "bubble are caused by the phenomenon of light interference. This occurs when light waves bounce between the two "
    "surfaces of the soap film, combining constructively or destructively based on their phase differences and the "
    "varying thickness of the film. These interactions result in vibrant color patterns due to variations in the "
    "intensity of different wavelengths of light.\nAnswer: E.\n\n"
    "Question: \nA microwave oven is connected to an outlet, 120 V, and draws a current of 2 amps. At what rate is "
    "energy being used by the microwave oven? \nA) 240 W\nB) 120 W\nC) 10 W\nD) 480 W\nE) 360 W\nF) 200 W\nG) 30 W\n"
    "H) 150 W\nI) 60 W\nJ) 300 W\n\nAnswer: Let's think step by step. The rate of energy usage, known as power, in an "
    "electrical circuit is calculated by the product of voltage and current. For a microwave oven connected to a 120 V "
    "outlet and drawing a current of 2 amps, the power consumption can be calculated as follows:\n\\[\n\\text{Power} = "
    "\\text{Voltage} \\times \\text{Current} = 120 \\, \\text{V} \\times 2 \\, \\text{A} = 240 \\, \\text{W}.\n\\]\n"
    "Therefore, the microwave oven uses energy at a rate of 240 watts.\nAnswer: A.\n\n"
    "Question: \n{block}\n\nAnswer: Let's think step by step. \n"
)


@dataclass(frozen=True)
class SuperGPQAOfficial(Protocol):
    """SuperGPQA's official prompts and extractor; ``five_shot`` selects the base-model prompt."""

    five_shot: bool = False

    def build_prompt(self, sample: Sample, bench: LoadedBenchmark) -> Prompt:
        self._require(bench.spec.name)
        block = sample.question + "\n" + "\n".join(
            SG_OPTION.format(letter=ex.LETTERS[i], option=o) for i, o in enumerate(sample.choices or ()))
        if self.five_shot:
            return SG_FIVE_SHOT.replace("{block}", block)
        return [{"role": "user", "content": SG_ZERO_SHOT.replace("{block}", block)}]

    def extract(self, response: str, sample: Sample) -> str | None:
        return ex.supergpqa_letter(response, sample.choices or (), five_shot=self.five_shot)

    def model_response(self, answer: str) -> str:
        return f"Let's think step by step. Putting it together.\nAnswer: {answer}"

    def definition(self) -> dict[str, Any]:
        d = super().definition()
        template = SG_FIVE_SHOT if self.five_shot else SG_ZERO_SHOT
        d["mode"] = "five-shot" if self.five_shot else "zero-shot"
        d["prompts"] = {"text" if self.five_shot else "user_message": template, "option_line": SG_OPTION,
                        "block": "{question}\\n + option lines joined by \\n", "sha256": _sha(template)}
        d["extraction"] = {
            "id": "supergpqa_letter", "version": 1,
            "rule": ("official eval.py: extract_option_labels (three shapes: 'The ... answer/option is X', "
                     "'Answer: X', a bare X, each with optional \\boxed/\\mathbf/\\mathrm/\\text/$/(/[ wrappers; last "
                     "line first, then the whole text; case-insensitive) then extract_option_content (same shapes "
                     "around an option's text)"
                     + ("; five-shot: first on the text before the next 'Question:', then on the whole response"
                        if self.five_shot else "")),
            "note": "regexes rewritten without nested quantifiers (same language, no catastrophic backtracking)",
        }
        d["grading"] = {"rule": "extracted == answer_letter (a lower-case letter is wrong); miss = wrong; reported "
                                "sample-wise (micro), plus per discipline, difficulty and miss rate"}
        d["source"] = "SuperGPQA/SuperGPQA config/prompt/{zero,five}-shot.yaml, eval/eval.py"
        return d


# --------------------------------------------------------------------------- registry

_GREEDY_8K = Decoding(temperature=0.0, top_p=1.0, max_new_tokens=8192, k=1, seed=0)
_SAMPLED_32 = Decoding(temperature=1.0, top_p=1.0, max_new_tokens=8192, k=32, seed=0)

PROTOCOLS: dict[str, Protocol] = {
    p.id: p
    for p in (
        BoxedZeroShot(
            id="pz-0shot-boxed", version=2,
            changelog=((1, "first version"),
                       (2, "math grader v2: the same normalisation for gold and prediction (currency \\$ and $ "
                           "delimiters dropped, e-notation read as x 10^n, single-letter variables no longer stripped "
                           "as units), plain numbers compared relatively; MMLU-Pro prompt says 'option letter' as "
                           "General-Reasoner's; General-Reasoner's 'Assistant:' cut before MCQ/BBEH extraction; BBEH "
                           "harmonic mean recorded")),
            description="PretrainZero / General-Reasoner zero-shot boxed evaluation (chat template, greedy, 8192 new "
                        "tokens; AMC23 and AIME as mean@32 at temperature 1)",
            benchmarks=("mmlu_pro", "supergpqa", "mmlu", "gpqa_diamond", "bbeh", "math500", "olympiadbench",
                        "minerva", "gsm8k", "amc23", "aime24", "aime25"),
            kinds=("mcq", "math", "text"),
            prompts=(
                ("mcq", ChatPrompt("mcq", (("user", GR_MCQ_TEMPLATE),), ex.gr_boxed_letter)),
                ("math", ChatPrompt("math", (("system", GR_MATH_SYSTEM), ("user", GR_MATH_TEMPLATE)),
                                    ex.qwen_math_answer)),
                ("text", ChatPrompt("bbeh", (("user", GR_BBEH_TEMPLATE),), ex.gr_boxed_text,
                                    note="wording from a General-Reasoner eval_bbeh reimplementation; unverified "
                                         "against the original")),
            ),
            overrides=(("mmlu_pro", ChatPrompt("mcq_mmlu_pro", (("user", GR_MMLU_PRO_TEMPLATE),))),),
            chat_template=True, default_decoding=_GREEDY_8K,
            decoding_overrides=(("amc23", _SAMPLED_32), ("aime24", _SAMPLED_32), ("aime25", _SAMPLED_32)),
            no_match="random-letter",
        ),
        TigerMMLUPro(
            id="mmlu-pro-official", version=2,
            changelog=((1, "first version"),
                       (2, "four newlines after the header, as the official script produces (v1 had three)")),
            description="TIGER-Lab MMLU-Pro 5-shot CoT (evaluate_from_local.py)",
            benchmarks=("mmlu_pro",), chat_template=False,
            default_decoding=Decoding(temperature=0.0, top_p=1.0, max_new_tokens=2048, k=1, seed=12345,
                                      stop=("Question:",)),
            no_match="random-letter",
        ),
        SuperGPQAOfficial(
            id="supergpqa-official", version=1,
            description="SuperGPQA official zero-shot prompt and extractor (chat models); miss = wrong",
            benchmarks=("supergpqa",), chat_template=True,
            default_decoding=Decoding(temperature=0.0, top_p=1.0, max_new_tokens=4096, k=1, seed=0),
            no_match="wrong",
        ),
        SuperGPQAOfficial(
            id="supergpqa-official-5shot", version=1,
            description="SuperGPQA official five-shot prompt and extractor (base models, raw text); miss = wrong",
            benchmarks=("supergpqa",), chat_template=False,
            default_decoding=Decoding(temperature=0.0, top_p=1.0, max_new_tokens=4096, k=1, seed=0),
            no_match="wrong", five_shot=True,
        ),
    )
}

for _p in PROTOCOLS.values():
    _p.check_coverage()


def get_protocol(protocol_id: str) -> Protocol:
    try:
        return PROTOCOLS[protocol_id]
    except KeyError:
        raise KeyError(f"unknown protocol {protocol_id!r}; known: {', '.join(sorted(PROTOCOLS))}") from None


def protocol_yaml(protocol: Protocol) -> str:
    """The YAML text of ``protocol.definition()`` (multi-line strings as literal blocks)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    _Dumper.add_representer(str, _str)
    header = ("# Frozen protocol definition, generated from pretrainzero/eval/protocols.py — do not edit by hand.\n"
              "# Regenerate: python -m pretrainzero.eval.protocols --write leaderboards/protocols\n")
    return header + yaml.dump(protocol.definition(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def write_protocol_yamls(directory: str) -> list[str]:
    from pathlib import Path

    out = []
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    for p in PROTOCOLS.values():
        path = base / f"{p.id}.yaml"
        path.write_text(protocol_yaml(p), encoding="utf-8")
        out.append(str(path))
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Write leaderboards/protocols/*.yaml from the protocol registry")
    ap.add_argument("--write", required=True, metavar="DIR")
    for written in write_protocol_yamls(ap.parse_args().write):
        print(written)
