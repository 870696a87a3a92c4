"""Fixtures and markers: ``slow`` runs outside the default command, ``gpu`` needs a CUDA device."""

from __future__ import annotations

import os
import sys

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # The test command runs one worker per core (pytest-xdist): one thread each, no oversubscription.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def plain_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """LightningCLI reads sys.argv unless given args; pytest's own arguments must not leak in."""
    monkeypatch.setattr(sys, "argv", ["lit-basics"])
