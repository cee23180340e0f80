"""The corpus registry: YAML folders, ``register_corpus(...)`` and lookup by name.

All three ways of declaring a corpus (a YAML file in a folder, a ``register_corpus`` call, the
``pretrainzero corpus add`` command, which writes such a YAML file) end in :func:`register_spec`,
so they produce the same spec. Relative file sources are made absolute at registration:
against the YAML file's folder for YAML (so a folder of YAML files and data moves as one),
against the working directory for ``register_corpus`` calls and ``corpus add``.

Folders loaded at ``import pretrainzero``: the repository's ``envs/`` (built-ins),
``~/.config/pretrainzero/envs`` (or ``$XDG_CONFIG_HOME/pretrainzero/envs``; where ``corpus add``
writes by default), then every folder in ``PRETRAINZERO_ENV_PATH`` (``os.pathsep``-separated).
Loading parses YAML only. A later definition of a name replaces an earlier one, except that a
built-in name is only replaced when asked (``replace=True``, ``replace: true`` in YAML,
``corpus add --replace``): a typo must not silently change the data behind a ``-vN`` id.

The registry knows nothing of Gymnasium: the env layer observes it (:func:`add_listener`) and
registers ids for every corpus, so registration flows one way, corpus -> envs.
"""

from __future__ import annotations

import difflib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..paths import shipped_dir
from .corpus import Corpus
from .spec import CorpusSpec

logger = logging.getLogger("pretrainzero.corpus")

BUILTIN_DIR = shipped_dir("envs")
_REGISTRY: dict[str, CorpusSpec] = {}
_BUILTIN: dict[str, CorpusSpec] = {}  # names defined by BUILTIN_DIR: protected from shadowing
_CORPORA: dict[CorpusSpec, Corpus] = {}
Listener = Callable[[CorpusSpec], object]
_ON_REGISTER: list[Listener] = []
_ON_UNREGISTER: list[Listener] = []
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnknownCorpusError(KeyError, ValueError):
    """No corpus of that name is registered (message carries close matches)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BuiltinCorpusError(ValueError):
    """A definition would replace a built-in corpus without ``replace=True``."""


def add_listener(on_register: Listener, on_unregister: Listener | None = None) -> None:
    """Call ``on_register(spec)`` for every registered corpus (now and later), ``on_unregister`` on removal.

    ``on_register`` runs before the spec is stored: an exception (e.g. an unknown task) rejects it.
    """
    _ON_REGISTER.append(on_register)
    if on_unregister is not None:
        _ON_UNREGISTER.append(on_unregister)
    for spec in list(_REGISTRY.values()):
        on_register(spec)


def user_env_dir() -> Path:
    """``$XDG_CONFIG_HOME/pretrainzero/envs`` (default ``~/.config/pretrainzero/envs``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "pretrainzero" / "envs"


def env_path_dirs() -> list[Path]:
    """Folders named by ``PRETRAINZERO_ENV_PATH``, in order."""
    raw = os.environ.get("PRETRAINZERO_ENV_PATH", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def default_add_dir() -> Path:
    """Where ``corpus add`` writes: the first ``PRETRAINZERO_ENV_PATH`` folder, else the user folder."""
    dirs = env_path_dirs()
    return dirs[0] if dirs else user_env_dir()


def _absolute_source(source: Any, base: Path) -> Any:
    """Make a relative file (or local ``hf:./dir``) source absolute against ``base``."""
    if not isinstance(source, str) or not source.strip() or source.startswith("package:"):
        return source  # left for CorpusSpec to accept or reject with its own message
    if source.startswith("hf:"):
        target = source[3:]
        if target.startswith(("./", "../", "~")) or os.path.isabs(target):
            return "hf:" + str((base / os.path.expanduser(target)).resolve())
        return source
    path = os.path.expanduser(source)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def register_spec(spec: CorpusSpec, *, replace: bool = False, builtin: bool = False) -> CorpusSpec:
    """Add ``spec`` to the registry and tell the listeners (the env layer registers its ids).

    A different definition of a built-in name raises :class:`BuiltinCorpusError` unless
    ``replace``; any other name is simply redefined (each definition keeps its own index).
    """
    old = _REGISTRY.get(spec.name)
    if old is not None and old == spec:
        return old
    if spec.name in _BUILTIN and not (replace or builtin):
        raise BuiltinCorpusError(
            f"corpus {spec.name!r} is built in (source {_BUILTIN[spec.name].describe_source()}); "
            "choose another name, or replace it on purpose with replace=True "
            "(`corpus add --replace`, `replace: true` in YAML)"
        )
    for listener in _ON_REGISTER:
        listener(spec)  # first: a spec a listener rejects (e.g. unknown task) is not kept
    if old is not None:
        logger.info("corpus %r redefined (source %s)", spec.name, spec.describe_source())
        if old.name in _BUILTIN and not builtin:
            logger.warning("corpus %r: built-in definition replaced by %s", spec.name, spec.describe_source())
    _REGISTRY[spec.name] = spec
    if builtin:
        _BUILTIN[spec.name] = spec
    return spec


def register_corpus(
    name: str,
    source: str | tuple[str, ...] | list[str],
    text_field: str = "text",
    *,
    replace: bool = False,
    **fields: Any,
) -> CorpusSpec:
    """Declare a corpus and register its Gymnasium env ids; returns the validated spec.

    A relative file ``source`` is resolved against the working directory. ``replace=True`` is
    needed to redefine a built-in corpus name. Example:
    ``register_corpus("my-notes", source="notes/*.jsonl", text_field="body", min_chars=100)``.
    """
    spec = CorpusSpec(name=name, source=_absolute_source(source, Path.cwd()), text_field=text_field, **fields)
    return register_spec(spec, replace=replace)


def read_corpus_yaml(path: str | os.PathLike[str]) -> list[CorpusSpec]:
    """Parse (without registering) the specs of one YAML file: a mapping, or a list of mappings.

    A relative ``source`` is resolved against the file's folder.
    """
    return [spec for spec, _ in _read_yaml_items(path)]


def _read_yaml_items(path: str | os.PathLike[str]) -> list[tuple[CorpusSpec, bool]]:
    """``(spec, replace)`` per corpus mapping of one YAML file; the key ``replace: true`` marks a
    deliberate redefinition of a built-in name."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:  # one line: file:line:column and the problem, not PyYAML's four
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ValueError(f"{where}: invalid YAML ({what})") from None
    items = data if isinstance(data, list) else [data]
    specs = []
    for i, item in enumerate(items):
        where = f"{path}" + (f" (item {i})" if isinstance(data, list) else "")
        replace = False
        if isinstance(item, dict):
            item = dict(item)
            replace = item.pop("replace", False)
            if not isinstance(replace, bool):
                raise ValueError(f"{where}: replace must be true or false, got {replace!r}")
            if "source" in item:
                item["source"] = _absolute_source(item["source"], path.parent)
        specs.append((CorpusSpec.from_mapping(item, where=where), replace))
    return specs


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_corpus_yaml(path: str | os.PathLike[str], *, _builtin: bool = False) -> list[CorpusSpec]:
    """Register the corpora of a YAML file or of every ``*.yaml``/``*.yml`` file in a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        files = yaml_files(path)
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"corpus YAML {str(path)!r} does not exist")
    specs = [item for f in files for item in _read_yaml_items(f)]
    return [register_spec(spec, replace=replace, builtin=_builtin) for spec, replace in specs]


def load_builtin_corpora() -> list[CorpusSpec]:
    """Load the built-in ``envs/`` folder (errors raise), then user folders (errors warn)."""
    specs = load_corpus_yaml(BUILTIN_DIR, _builtin=True) if BUILTIN_DIR.is_dir() else []
    for folder in [user_env_dir(), *env_path_dirs()]:
        if not folder.is_dir():
            continue
        for f in yaml_files(folder):  # one broken user file must not break `import pretrainzero`
            try:
                specs += load_corpus_yaml(f)
            except (ValueError, OSError) as exc:
                says = str(exc) if str(exc).startswith(str(f)) else f"{f}: {exc}"
                warnings.warn(f"pretrainzero: skipped corpus file {says}", stacklevel=2)
    return specs


def list_corpora() -> list[CorpusSpec]:
    """Registered specs, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_spec(name: str) -> CorpusSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        extra = (
            f"; did you mean {', '.join(map(repr, hint))}?"
            if hint
            else f"; registered: {', '.join(sorted(_REGISTRY)) or 'none'}"
        )
        raise UnknownCorpusError(f"unknown corpus {name!r}{extra}") from None


def get_corpus(name: str) -> Corpus:
    """The :class:`Corpus` of a registered name (one shared object per spec)."""
    return corpus_of(get_spec(name))


def corpus_of(spec: CorpusSpec) -> Corpus:
    """The shared :class:`Corpus` of a spec, registered or not (env workers get the spec itself)."""
    corpus = _CORPORA.get(spec)
    if corpus is None:
        corpus = _CORPORA[spec] = Corpus(spec)
    return corpus


def is_builtin(name: str) -> bool:
    return name in _BUILTIN


def unregister_corpus(name: str) -> None:
    """Forget a corpus (listeners drop its Gymnasium ids); for tests and notebooks.

    Unregistering a built-in name restores the built-in definition if it was replaced.
    """
    spec = _REGISTRY.pop(name, None)
    if spec is None:
        return
    _CORPORA.pop(spec, None)
    for listener in _ON_UNREGISTER:
        listener(spec)
    if name in _BUILTIN and spec != _BUILTIN[name]:
        register_spec(_BUILTIN[name], builtin=True)


def spec_as_yaml(spec: CorpusSpec) -> str:
    """The YAML text ``corpus add`` writes for ``spec`` (non-default fields only)."""
    return yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "BuiltinCorpusError",
    "UnknownCorpusError",
    "add_listener",
    "corpus_of",
    "is_builtin",
    "default_add_dir",
    "env_path_dirs",
    "get_corpus",
    "get_spec",
    "list_corpora",
    "load_builtin_corpora",
    "load_corpus_yaml",
    "read_corpus_yaml",
    "register_corpus",
    "register_spec",
    "spec_as_yaml",
    "unregister_corpus",
    "user_env_dir",
]
