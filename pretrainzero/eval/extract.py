r"""Answer extractors, one pure function per published extractor, each named and versioned.

* ``gr_boxed_letter`` — General-Reasoner MCQ (v2: with its ``Assistant:`` cut): last ``\boxed{}``
  (else last ``Final Answer:``/``The answer is:`` line), then a letter. Deviation, documented in the
  protocol YAML: a leading standalone letter (``B. Acid``, ``(B)``, ``\text{B}``) wins before General-Reasoner's A→J
  substring scan, which would read ``\boxed{B. Acid}`` as "A".
* ``gr_boxed_text`` — General-Reasoner free-form (BBEH): last ``\boxed{}`` else ``Final Answer:``.
* ``qwen_math_answer`` — Qwen2.5-Math ``extract_answer`` order: Minerva "final answer is $X$. I
  hope", last ``\boxed{}`` (nested braces), "the answer is", "final answer is", last number.
* ``tiger_mmlu_pro`` — TIGER MMLU-Pro 3-level cascade (first regex match wins at each level).
* ``supergpqa_letter`` — SuperGPQA ``extract_option_labels`` then ``extract_option_content``.
* ``gsm8k_gold`` — the number after ``####`` in a GSM8K reference solution.

The SuperGPQA regexes are the official ones rewritten to avoid catastrophic backtracking (the
official code needs a 5 s timeout: 30 ``$`` after "The answer is" already hang the original). The
rewrite matches the same language — the wrapper and suffix loops become single alternations — and
a fuzz test checks it against the original on short strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..parsing import last_boxed, strip_think

LETTERS = "ABCDEFGHIJ"

# --------------------------------------------------------------------------- General-Reasoner

_GR_FINAL_ANSWER = re.compile(r"Final Answer:((?:[^<]|<[^<])*?)\n")
_GR_THE_ANSWER_IS = re.compile(r"The answer is:((?:[^<]|<[^<])*?)\n")
_GR_STOP_WORDS = ("</s>", "<|im_end|>", "<|endoftext|>")
# A letter standing alone at the start of the box content, after wrappers such as \text{ ( [ $ *.
_LEADING_LETTER = re.compile(
    r"^(?:\s|\$|\*|\(|\[|\{|\\(?:text|textbf|mathrm|mathbf|mathit)\{|\\\()*([A-J])(?![A-Za-z0-9])"
)


def gr_model_output(response: str) -> str:
    """General-Reasoner's cut before extraction: a response that contains ``<|im_start|>user`` keeps
    the text from its first ``<|im_start|>assistant``; else one that contains ``Assistant:`` keeps
    the text after the last ``Assistant:`` (a model that writes a dialogue answers in its last turn).
    """
    if "<|im_start|>user" in response:
        head, sep, tail = response.partition("<|im_start|>assistant")
        return sep + tail if sep else response
    if "Assistant:" in response:
        return response.split("Assistant:")[-1].strip()
    return response


def gr_solution(response: str) -> str | None:
    r"""General-Reasoner's ``extract_solution``: the :func:`gr_model_output` cut, cut at stop words,
    last ``\boxed{}``, else last ``Final Answer:...\n`` / ``The answer is:...\n`` (a line that is
    never terminated does not count).
    """
    text = gr_model_output(response)
    for stop in _GR_STOP_WORDS:
        if stop in text:
            text = text.split(stop)[0].strip()
    boxed = last_boxed(text)
    if boxed:
        return boxed
    finals = list(_GR_FINAL_ANSWER.finditer(text))
    if finals:
        return finals[-1].group(1)
    answer_is = list(_GR_THE_ANSWER_IS.finditer(text))
    if answer_is:
        return answer_is[-1].group(1)
    return None


def gr_boxed_letter(response: str) -> str | None:
    """Option letter A–J, or None when the response holds no box/final-answer line with a letter."""
    solution = gr_solution(strip_think(response))
    if solution is None:
        return None
    lead = _LEADING_LETTER.match(solution.strip())
    if lead:
        return lead.group(1)
    for letter in LETTERS:  # General-Reasoner's scan: first of A..J that occurs anywhere
        if letter in solution:
            return letter
    return None


def gr_boxed_text(response: str) -> str | None:
    r"""Free-form answer (BBEH): the last ``\boxed{}`` or ``Final Answer:`` line, stripped."""
    solution = gr_solution(strip_think(response))
    if solution is None:
        return None
    solution = solution.strip()
    return solution or None


# --------------------------------------------------------------------------- Qwen-Math

_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


def qwen_math_answer(response: str) -> str | None:
    """Final math answer in Qwen2.5-Math's order of precedence; None when there is nothing at all."""
    text = strip_think(response)
    if "final answer is $" in text and "$. I hope" in text:
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "\\boxed" in text:
        boxed = last_boxed(text)
        if boxed is None:  # an unclosed box (truncated output) holds no answer
            return None
        pred = boxed
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    else:
        numbers = _LAST_NUMBER.findall(text.replace(",", ""))
        if not numbers:
            return None
        pred = numbers[-1]
    pred = re.sub(r"\n\s*", "", pred).strip()
    if pred.startswith(":"):
        pred = pred[1:].strip()
    while pred.endswith((".", "/")):
        pred = pred[:-1].rstrip()
    return pred or None


def gsm8k_gold(solution: str) -> str:
    """The reference answer of a GSM8K solution: text after ``####``, thousands commas removed."""
    if "####" not in solution:
        raise ValueError("GSM8K solution has no '####' answer line")
    return solution.split("####")[-1].strip().replace(",", "")


# --------------------------------------------------------------------------- TIGER MMLU-Pro

_TIGER_L1 = re.compile(r"answer is \(?([A-J])\)?")
_TIGER_L2 = re.compile(r".*[aA]nswer:\s*([A-J])")
_TIGER_L3 = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)


def tiger_mmlu_pro(response: str) -> tuple[str | None, int]:
    """TIGER's cascade: (letter, level) with level 1–3, or (None, 0) when no level matches.

    Level 1 alone is the official ``compute_accuracy.py`` "l1" number; the full cascade is "l2".
    """
    for level, pattern in ((1, _TIGER_L1), (2, _TIGER_L2)):
        m = pattern.search(response)
        if m:
            return m.group(1), level
    m = _TIGER_L3.search(response)
    if m:
        return m.group(0), 3
    return None, 0


# --------------------------------------------------------------------------- SuperGPQA

# Official wrapper loop  (?:[\*\$\{(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*  and suffix
# loop  (?:\\?\}?\$?\)?\]?\}?)*  rewritten as one-item-per-iteration loops: same strings, no
# exponential number of ways to split a run of wrapper characters.
_SG_WRAP = r"(?:(?:\\boxed|\\mathbf|\\mathrm|\\text)\{|[\*\$\{(\[\\])*?"
_SG_SUFFIX = r"[\\}$)\]]*"
_SG_END = r"(?:[\s:\.\*)]|$)"


def _sg_label_patterns(labels: str) -> tuple[re.Pattern[str], ...]:
    letter = f"([{labels}])"
    return (
        re.compile(
            r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is?:?\s*" + _SG_WRAP + r"\s*" + letter
            + _SG_SUFFIX + _SG_END,
            re.IGNORECASE,
        ),
        re.compile(r"(?i:Answer)[\*\s]*:\s*" + _SG_WRAP + r"\s*" + letter + _SG_SUFFIX + _SG_END, re.IGNORECASE),
        re.compile(r"^[^\w\r\n]*" + _SG_WRAP + r"\s*" + letter + _SG_SUFFIX + _SG_END, re.IGNORECASE),
    )


_SG_LABELS = _sg_label_patterns(LETTERS)


def supergpqa_option_label(text: str) -> str | None:
    """Official ``extract_option_labels``: three shapes on the last line, then on the whole text.

    Matching is case-insensitive and the letter is returned as written, so a lower-case ``a``
    never equals the gold ``A`` (as in the official scorer).
    """
    return _last_line_then_text(text, _SG_LABELS)


def _last_line_then_text(text: str, patterns: Sequence[re.Pattern[str]]) -> str | None:
    """First group of the first pattern matching the last line, else the whole text (official order)."""
    text = text.rstrip()
    for candidate in (text.split("\n")[-1], text):
        for pattern in patterns:
            m = pattern.search(candidate)
            if m:
                return m.group(1)
    return None


def supergpqa_option_content(text: str, options: Sequence[str]) -> str | None:
    """Official ``extract_option_content``: the same three shapes around an option's literal text."""
    escaped = [re.escape(o) for o in options]
    alternatives = "|".join(escaped)
    if not alternatives:
        return None
    body = "(" + alternatives + ")"
    patterns = (
        re.compile(
            r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is:?\s*" + _SG_WRAP + r"\s*" + body
            + _SG_SUFFIX + _SG_END
        ),
        re.compile(r"(?i:Answer)\s*" + _SG_WRAP + r"\s*" + body + _SG_SUFFIX + _SG_END),
        re.compile(r"^[^\w\r\n]*" + _SG_WRAP + r"\s*" + body + _SG_SUFFIX + _SG_END),
    )
    return _last_line_then_text(text, patterns)


def _supergpqa_once(text: str, options: Sequence[str]) -> str | None:
    label = supergpqa_option_label(text)
    if label is not None:
        return label
    content = supergpqa_option_content(text, options)
    if content and content in options:
        return LETTERS[list(options).index(content)]
    return None


def supergpqa_letter(response: str, options: Sequence[str], five_shot: bool = False) -> str | None:
    """Official SuperGPQA extraction; five-shot mode first looks before the next ``Question:``."""
    if five_shot:
        head = response.split("Question:")[0]
        found = _supergpqa_once(head, options)
        if found is not None:
            return found
    found = _supergpqa_once(response, options)
    return found or None
