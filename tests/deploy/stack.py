"""Where the deployment files are, and reading them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ROOT = DOCKER.parent


def load_yaml(name: str) -> dict[str, Any]:
    """A YAML file of docker/ (merge keys resolved, as Compose does)."""
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / name).read_text(encoding="utf-8"))
    return loaded
