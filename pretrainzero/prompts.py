r"""The paper's two prompt templates (Figure 5) plus the next-token (RPT) baseline prompt.

Prompts are plain strings; :func:`chat_messages` wraps one in the chat form that an
instruction model's chat template renders. Whether a raw-completion or chat form is used is a
recipe choice and must be the same in training and evaluation. ``answer_prefill`` appends text
the model continues from (e.g. ``"\\boxed{"`` for tiny models that never box on their own).
"""

from __future__ import annotations

from typing import Any, Literal

from .masking import MASK_TOKEN, MaskedExample

PromptForm = Literal["chat", "raw"]

GENERATION_TEMPLATE = (
    "Generate a mask to mask important words in the following paragraph, satisfying the requirements below:\n"
    "1) The mask should mask one or more entities in the passage. The masked words should be continuous.\n"
    "2) The masked words should exactly match words in the original passage.\n"
    "3) The masked words could be predicted according to the context. The difficulty to predict should be "
    "moderately challenging for you, so the answer would be short and as unique as possible.\n"
    "Paragraph: {paragraph}\n"
    "The final generated masked words must be placed inside \\mask{{}}."
)

PREDICTION_TEMPLATE = (
    "There is a passage with masked words by " + MASK_TOKEN + ":\n"
    "{masked}\n"
    "Please reason step by step, and put the predicted masked words within \\boxed{{}}."
)

# Not in the paper (its NTP baselines share the masked-span machinery); worded to match.
NEXT_TOKEN_TEMPLATE = (
    "Here is the beginning of a passage:\n"
    "{context}\n"
    "Please reason step by step, and put the next word of the passage within \\boxed{{}}."
)


def generation_prompt(paragraph: str) -> str:
    """Mask-generation prompt (Figure 5, left)."""
    return GENERATION_TEMPLATE.format(paragraph=paragraph)


def prediction_prompt(example: MaskedExample | str) -> str:
    """Prediction prompt for a masked span, or the next-token prompt for a truncation."""
    if isinstance(example, str):
        return PREDICTION_TEMPLATE.format(masked=example)
    if example.kind == "next":
        return NEXT_TOKEN_TEMPLATE.format(context=example.context)
    return PREDICTION_TEMPLATE.format(masked=example.context)


def chat_messages(prompt: str, system: str | None = None) -> list[dict[str, str]]:
    """The prompt as a one-turn chat, for ``tokenizer.apply_chat_template``."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages


def render_prompt(tokenizer: Any, prompt: str, form: PromptForm, prefill: str = "") -> str:
    r"""The exact text fed to the engine.

    ``chat``: the tokenizer's chat template with the generation prompt, then ``prefill`` as the
    start of the assistant turn (e.g. ``"\boxed{"``). ``raw``: ``prompt + "\n" + prefill`` for
    base models without a template.
    """
    if form == "chat":
        text = tokenizer.apply_chat_template(chat_messages(prompt), tokenize=False, add_generation_prompt=True)
        return text + prefill
    if form == "raw":
        return prompt + "\n" + prefill
    raise ValueError(f"prompt form must be 'chat' or 'raw', got {form!r}")
