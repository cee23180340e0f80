"""Shared parts of the text envs: lazy corpus access, episode seeding, action coercion.

An episode is a pure function of ``(paragraph, episode seed)``. ``reset(seed=s)`` seeds
``np_random`` and draws the episode seed from it; ``reset(options={"paragraph_id": p, "seed": e})``
rebuilds any episode from what its ``info`` recorded. The paragraph index is the first draw of
the episode generator and is drawn even when ``paragraph_id`` overrides it, so the rest of the
episode (the mask) is identical either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium

from ..corpus.spec import CorpusSpec
from ..types import Paragraph
from .rng import EpisodeRng
from .spaces import AnyText

MAX_OBS_CHARS = 1 << 20  # observation space bound; corpora split far shorter paragraphs
MAX_ACTION_CHARS = 1 << 26  # actions past this are still scored, only not "in" the space
MAX_SKIPS = 64  # consecutive paragraphs tried when a masker finds no target
PARAGRAPH_CACHE = 16384  # paragraphs an env keeps (all of wiki-vital-en; ~30 MB at most)


class SequenceCorpus:
    """A corpus over an in-memory sequence of paragraphs or strings (tests, notebooks)."""

    def __init__(self, items: Sequence[Paragraph | str], name: str = "memory"):
        self.name = name
        self._items = [
            p if isinstance(p, Paragraph) else Paragraph(f"{name}:{i}", p, name) for i, p in enumerate(items)
        ]
        self._index = {p.id: i for i, p in enumerate(self._items)}

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Paragraph:
        return self._items[i]

    def index_of(self, paragraph_id: str) -> int:
        try:
            return self._index[paragraph_id]
        except KeyError:
            raise KeyError(f"no paragraph {paragraph_id!r} in corpus {self.name!r}") from None


def as_text(action: Any) -> str:
    """Any action as a string: bytes are decoded leniently, None is empty, the rest ``str()``."""
    if isinstance(action, str):
        return action
    if action is None:
        return ""
    if isinstance(action, (bytes, bytearray)):
        return bytes(action).decode("utf-8", errors="replace")
    return str(action)


class CorpusEnv(gymnasium.Env[str, str]):
    """Base class: picks a paragraph and an episode generator; subclasses build the task.

    ``corpus`` is a :class:`CorpusSpec` (what registered ids pass), a registered corpus name
    (both loaded on the first ``reset``, never at construction, so registration and ``make``
    stay cheap) or an in-memory sequence.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    role = "predictor"
    NO_PARAGRAPH = Paragraph("", "", "")  # stands in until the first reset

    def __init__(
        self,
        corpus: str | CorpusSpec | Sequence[Paragraph | str] = "wiki-vital-en",
        *,
        max_obs_chars: int = MAX_OBS_CHARS,
        max_action_chars: int = MAX_ACTION_CHARS,
        render_mode: str | None = None,
    ):
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self._spec = corpus if isinstance(corpus, CorpusSpec) else None
        lazy = isinstance(corpus, (str, CorpusSpec))
        self.corpus_name = corpus if isinstance(corpus, str) else getattr(corpus, "name", "memory")
        self._corpus: Any = None if lazy else corpus
        if self._corpus is not None and not hasattr(self._corpus, "index_of"):
            self._corpus = SequenceCorpus(corpus, self.corpus_name)  # type: ignore[arg-type]
        self.observation_space = AnyText(max_obs_chars)
        self.action_space = AnyText(max_action_chars)
        self._obs = ""
        self._done = True
        self._paragraphs: dict[int, Paragraph] = {}
        self._stream: EpisodeRng | None = None  # episode-seed stream, keyed at each seeding
        self._size = 0  # len(corpus), known after the first reset

    @property
    def corpus(self) -> Any:
        """The corpus, loaded on first use."""
        if self._corpus is None:
            from ..corpus.registry import corpus_of, get_corpus  # deferred: constructing an env reads no data

            self._corpus = corpus_of(self._spec) if self._spec is not None else get_corpus(self.corpus_name)
            if len(self._corpus) == 0:
                raise ValueError(f"corpus {self.corpus_name!r} has no paragraphs")
        return self._corpus

    def paragraph(self, index: int) -> Paragraph:
        """``corpus[index]``, kept for reuse: an on-disk row read costs more than a whole episode,
        and keeping the same ``str`` object makes the maskers' word-offset cache hits free."""
        p = self._paragraphs.get(index)
        if p is None:
            p = self.corpus[index]
            if len(self._paragraphs) < PARAGRAPH_CACHE:
                self._paragraphs[index] = p
        return p

    def _episode(self, seed: int | None, options: dict[str, Any] | None) -> tuple[int, int, int]:
        """Seed the env and return ``(episode seed, paragraph index, mask seed)``.

        ``options``: ``seed`` (episode seed to rebuild), ``paragraph_id`` or ``index``.
        Episode seeds come from a stream keyed by one ``np_random`` draw at each seeding: a
        numpy draw per episode would cost more than the rest of ``reset``.
        """
        if seed is not None or self._stream is None:
            super().reset(seed=seed)
            self._stream = EpisodeRng(int(self.np_random.bit_generator.random_raw()))
        n = self._size or self._load_size()
        episode_seed = options.get("seed") if options else None
        if episode_seed is None:
            episode_seed = self._stream.next_u64() >> 1  # int64-safe for vector-env info arrays
        rng = EpisodeRng(int(episode_seed))
        index = rng.integers(n)  # drawn even when overridden: keeps the mask seed fixed
        if options:
            if options.get("paragraph_id") is not None:
                index = self.corpus.index_of(options["paragraph_id"])
            elif options.get("index") is not None:
                index = int(options["index"]) % n
        return int(episode_seed), index, rng.next_u64()

    def _load_size(self) -> int:
        self._size = len(self.corpus)
        return self._size

    def _start(self, obs: str) -> str:
        self._obs = obs
        self._done = False
        return obs

    def _finish(self) -> None:
        if self._done:
            raise gymnasium.error.ResetNeeded("the episode is over: call reset() before step()")

    def render(self) -> str | None:
        return self._obs if self.render_mode == "ansi" else None
