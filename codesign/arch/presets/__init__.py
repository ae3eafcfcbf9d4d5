"""Bundled accelerator presets (``*.yaml`` next to this file) and name-or-path resolvers.

Each preset abstracts a published accelerator into the template of DESIGN.md; the YAML
file's header names the paper and says what was abstracted. All presets are costed with the
default 45 nm `Technology` so that they compare on one process.

>>> "eyeriss" in preset_names()
True
>>> load_preset("eyeriss").n_pes
168
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from codesign.arch.accelerator import Accelerator
from codesign.arch.io import parse_accelerator, parse_yaml, read_accelerator, read_technology
from codesign.arch.technology import Technology
from codesign.errors import ConfigError, did_you_mean

__all__ = ["TECHNOLOGY_PRESETS", "V1_PREFIX", "load_preset", "preset_names",
           "resolve_accelerator", "resolve_technology"]

#: ``v1:NAME`` names the v1 preset NAME wherever a hierarchy preset of the same name would
#: win (``codesign map --arch``: `codesign.search.architectures`); accepted here too.
V1_PREFIX = "v1:"

#: Named technology tables (a name usable wherever a technology YAML path is).
TECHNOLOGY_PRESETS: dict[str, Callable[[], Technology]] = {"45nm": Technology.default}


def _files():
    return resources.files(__name__)


def preset_names() -> tuple[str, ...]:
    """Names of the bundled accelerator presets, sorted."""
    return tuple(sorted(entry.name.removesuffix(".yaml") for entry in _files().iterdir()
                        if entry.name.endswith(".yaml")))


def _unknown(name: str, what: str, names: tuple[str, ...]) -> ConfigError:
    return ConfigError(f"unknown {what} {name!r}{did_you_mean(name, names)} (presets: "
                       f"{', '.join(names)}, or give the path of a YAML file)")


def load_preset(name: str) -> Accelerator:
    """The bundled accelerator preset ``name`` (see `preset_names`)."""
    names = preset_names()
    if name not in names:
        raise _unknown(name, "accelerator preset", names)
    text = _files().joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_accelerator(parse_yaml(text, f"preset {name}"), f"preset {name}")


def _looks_like_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text


def resolve_accelerator(name_or_path: str | Path) -> Accelerator:
    """A bundled preset by name (``NAME`` or ``v1:NAME``), or an accelerator YAML file by
    path.

    Raises `ConfigError` listing the presets when it is neither.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text.startswith(V1_PREFIX) \
            and text[len(V1_PREFIX):] in preset_names():
        return load_preset(text[len(V1_PREFIX):])
    if isinstance(name_or_path, str) and text in preset_names():
        return load_preset(text)
    if isinstance(name_or_path, Path) or _looks_like_path(text) or Path(text).is_file():
        return read_accelerator(text)
    raise _unknown(text, "accelerator", preset_names())


def resolve_technology(name_or_path: str | Path | None) -> Technology:
    """A technology preset by name (``None`` = default), or a technology YAML by path."""
    if name_or_path is None:
        return Technology.default()
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in TECHNOLOGY_PRESETS:
        return TECHNOLOGY_PRESETS[text]()
    if isinstance(name_or_path, Path) or _looks_like_path(text) or Path(text).is_file():
        return read_technology(text)
    raise _unknown(text, "technology", tuple(TECHNOLOGY_PRESETS))


