"""Training data for the trainer: a fixed held-out split and a resumable shuffled paragraph stream.

* Held out: a paragraph is held out when a hash of its stable id falls in the lowest 2% of the
  hash space. The split depends on nothing but the id, so it is identical across runs, seeds and
  machines, and the trainer never sees a held-out paragraph.
* Stream: training paragraphs (held-out excluded) in a seeded shuffled order, epoch after epoch
  (a new permutation each epoch). Its whole state is ``(epoch, position)``, saved in checkpoints.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..types import Paragraph

HELDOUT_FRACTION = 0.02
_BUCKETS = 10_000


def is_heldout(paragraph_id: str, fraction: float = HELDOUT_FRACTION) -> bool:
    """True for the ~``fraction`` of paragraph ids reserved for evaluation (deterministic)."""
    h = int.from_bytes(hashlib.sha256(b"pretrainzero-heldout:" + paragraph_id.encode()).digest()[:8], "big")
    return h % _BUCKETS < round(fraction * _BUCKETS)


def iter_heldout_paragraphs(corpus_name: str) -> Iterator[Paragraph]:
    """Held-out paragraphs in corpus order, lazily (callers stop once they have enough usable ones)."""
    from ..corpus import get_corpus

    return (p for p in get_corpus(corpus_name) if is_heldout(p.id))


def heldout_paragraphs(corpus_name: str, n: int) -> list[Paragraph]:
    """The first ``n`` held-out paragraphs in corpus order (fewer if the corpus has fewer)."""
    return list(itertools.islice(iter_heldout_paragraphs(corpus_name), n))


class ParagraphStream:
    """Training paragraphs of a corpus in a seeded shuffled order, with a serialisable cursor."""

    def __init__(self, corpus_name: str, seed: int = 0) -> None:
        from ..corpus import get_corpus

        self.corpus_name = corpus_name
        self.seed = seed
        self._corpus = get_corpus(corpus_name)
        self._n = len(self._corpus)
        if self._n == 0:
            raise ValueError(f"corpus {corpus_name!r} is empty")
        self.epoch = 0
        self.position = 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self._n)

    def __iter__(self) -> Iterator[Paragraph]:
        return self

    def __next__(self) -> Paragraph:
        skipped = 0
        while True:
            if self.position >= self._n:
                self.epoch += 1
                self.position = 0
                self._order = self._permutation(self.epoch)
            p = self._corpus[int(self._order[self.position])]
            self.position += 1
            if not is_heldout(p.id):
                return p
            skipped += 1
            if skipped > self._n:
                raise ValueError(f"corpus {self.corpus_name!r} has no training paragraphs (all held out)")

    def take(self, k: int) -> list[Paragraph]:
        """The next ``k`` training paragraphs."""
        return [next(self) for _ in range(k)]

    def state_dict(self) -> dict[str, Any]:
        return {"corpus": self.corpus_name, "seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["corpus"] != self.corpus_name or state["seed"] != self.seed:
            raise ValueError(
                f"data cursor is for corpus {state['corpus']!r} seed {state['seed']}, "
                f"not {self.corpus_name!r} seed {self.seed}"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)
