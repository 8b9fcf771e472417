"""The README documents every config key, the Quickstart commands and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from bot.cli import app
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested and not prefix:
            keys += _keys(nested[0], f"{name}.")
        else:
            keys.append(key)
    return keys


def test_every_config_key_is_documented() -> None:
    keys = _keys(Settings)
    missing = [k for k in keys if f"`{k}`" not in README]
    assert keys and not missing, f"undocumented config keys: {missing}"


def test_every_key_in_shipped_config_is_documented() -> None:
    import tomllib

    raw = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    for section, value in raw.items():
        tables = value if isinstance(value, list) else [value]
        for table in tables:
            for key in table:
                assert f"`{section}.{key}`" in README, f"{section}.{key} is not in the README"


def test_quickstart_has_exactly_the_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make \w+", quickstart, flags=re.M)
    assert commands == ["make demo", "make test"]


def test_every_cli_command_is_documented() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    assert names
    for name in names:
        assert f"`tocsin {name}" in README, f"tocsin {name} is not in the README"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci/run").read_text(encoding="utf-8")
