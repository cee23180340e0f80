"""The corpus registry: YAML folders, ``register_corpus(...)`` and lookup by name.

All three ways of declaring a corpus (a YAML file in a folder, a ``register_corpus`` call, the
``pretrainzero corpus add`` command, which writes such a YAML file) end in :func:`register_spec`,
so they produce the same spec and the same Gymnasium ids. Relative file sources are made
absolute at registration: against the YAML file's folder for YAML, against the working
directory for calls.

Folders loaded at ``import pretrainzero`` (later ones override earlier ones by name):
the repository's ``envs/`` (built-ins), ``~/.config/pretrainzero/envs`` (or
``$XDG_CONFIG_HOME/pretrainzero/envs``; where ``corpus add`` writes by default), then every
folder in ``PRETRAINZERO_ENV_PATH`` (``os.pathsep``-separated). Loading parses YAML only.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from .corpus import Corpus
from .spec import CorpusSpec

logger = logging.getLogger("pretrainzero.corpus")

def _builtin_dir() -> Path:
    """The repository's ``envs/`` (editable installs), else the copy a wheel installs under share/."""
    repo = Path(__file__).resolve().parent.parent.parent / "envs"
    return repo if repo.is_dir() else Path(sys.prefix) / "share" / "pretrainzero" / "envs"


BUILTIN_DIR = _builtin_dir()
_REGISTRY: dict[str, CorpusSpec] = {}
_CORPORA: dict[CorpusSpec, Corpus] = {}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnknownCorpusError(KeyError, ValueError):
    """No corpus of that name is registered (message carries close matches)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


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


def register_spec(spec: CorpusSpec) -> CorpusSpec:
    """Add ``spec`` to the registry (replacing one of the same name) and register its env ids."""
    _register_envs(spec)  # first: a spec the env layer rejects (e.g. unknown task) is not kept
    old = _REGISTRY.get(spec.name)
    if old is not None and old != spec:
        logger.info("corpus %r redefined (source %s)", spec.name, spec.describe_source())
    _REGISTRY[spec.name] = spec
    return spec


def _register_envs(spec: CorpusSpec) -> None:
    try:
        from pretrainzero.envs.registration import register_corpus_envs
    except ModuleNotFoundError as exc:  # the env layer is optional while it is being built
        if exc.name in ("pretrainzero.envs", "pretrainzero.envs.registration"):
            return
        raise
    register_corpus_envs(spec)


def register_corpus(
    name: str, source: str | tuple[str, ...] | list[str], text_field: str = "text", **fields: Any
) -> CorpusSpec:
    """Declare a corpus and register its Gymnasium env ids; returns the validated spec.

    Example: ``register_corpus("my-notes", source="notes/*.jsonl", text_field="body", min_chars=100)``.
    """
    spec = CorpusSpec(name=name, source=_absolute_source(source, Path.cwd()), text_field=text_field, **fields)
    return register_spec(spec)


def read_corpus_yaml(path: str | os.PathLike[str]) -> list[CorpusSpec]:
    """Parse (without registering) the specs of one YAML file: a mapping, or a list of mappings."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from None
    items = data if isinstance(data, list) else [data]
    specs = []
    for i, item in enumerate(items):
        where = f"{path}" + (f" (item {i})" if isinstance(data, list) else "")
        if isinstance(item, dict) and "source" in item:
            item = {**item, "source": _absolute_source(item["source"], path.parent)}
        specs.append(CorpusSpec.from_mapping(item, where=where))
    return specs


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_corpus_yaml(path: str | os.PathLike[str]) -> list[CorpusSpec]:
    """Register the corpora of a YAML file or of every ``*.yaml``/``*.yml`` file in a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        files = yaml_files(path)
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"corpus YAML {str(path)!r} does not exist")
    specs = [spec for f in files for spec in read_corpus_yaml(f)]
    return [register_spec(spec) for spec in specs]


def load_builtin_corpora() -> list[CorpusSpec]:
    """Load the built-in ``envs/`` folder (errors raise), then user folders (errors warn)."""
    specs = load_corpus_yaml(BUILTIN_DIR) if BUILTIN_DIR.is_dir() else []
    for folder in [user_env_dir(), *env_path_dirs()]:
        if not folder.is_dir():
            continue
        for f in yaml_files(folder):  # one broken user file must not break `import pretrainzero`
            try:
                specs += load_corpus_yaml(f)
            except (ValueError, OSError) as exc:
                warnings.warn(f"pretrainzero: skipped corpus file {f}: {exc}", stacklevel=2)
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
    spec = get_spec(name)
    corpus = _CORPORA.get(spec)
    if corpus is None:
        corpus = _CORPORA[spec] = Corpus(spec)
    return corpus


def unregister_corpus(name: str) -> None:
    """Forget a corpus and its ``pretrainzero/<name>-<Task>-vN`` Gymnasium ids (for tests and notebooks)."""
    spec = _REGISTRY.pop(name, None)
    if spec is None:
        return
    _CORPORA.pop(spec, None)
    try:
        import gymnasium

        prefix = f"pretrainzero/{name}-"
        for env_id in [i for i in gymnasium.registry if i.startswith(prefix)]:
            rest = env_id[len(prefix) :]
            if rest.split("-")[0] in spec.tasks:
                del gymnasium.registry[env_id]
    except ImportError:
        pass


def spec_as_yaml(spec: CorpusSpec) -> str:
    """The YAML text ``corpus add`` writes for ``spec`` (non-default fields only)."""
    return yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "UnknownCorpusError",
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
