"""The command line's memory of which partner composed or booked each id."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.memory import MEMORY_FILE, Memory, Subject

pytestmark = pytest.mark.unit


def test_it_remembers_the_partner_of_each_id_and_the_newest_wins(tmp_path: Path) -> None:
    memory = Memory.under(tmp_path / "state")
    memory.remember(Subject.SOLUTION, "sol_1", "airline-a")
    memory.remember(Subject.ORDER, "ord_1", "airline-a")
    memory.remember(Subject.ORDER, "ord_2", "car-a")
    memory.remember(Subject.ORDER, "ord_1", "telecom-cn")

    assert memory.partner_of(Subject.SOLUTION, "sol_1") == "airline-a"
    assert memory.partner_of(Subject.ORDER, "ord_1") == "telecom-cn"
    # An id means nothing under another subject.
    assert memory.partner_of(Subject.ORDER, "sol_1") is None
    assert memory.partners(Subject.ORDER) == ["telecom-cn", "car-a"]
    assert (tmp_path / "state" / MEMORY_FILE).is_file()


def test_reading_creates_nothing(tmp_path: Path) -> None:
    memory = Memory.under(tmp_path / "state")

    assert memory.partner_of(Subject.SOLUTION, "sol_1") is None
    assert memory.partners(Subject.ORDER) == []
    assert not (tmp_path / "state").exists()


def test_a_state_directory_that_cannot_be_written_costs_only_the_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    memory = Memory.under(blocker)

    memory.remember(Subject.ORDER, "ord_1", "airline-a")  # no exception

    assert memory.partner_of(Subject.ORDER, "ord_1") is None


def test_empty_ids_are_not_remembered(tmp_path: Path) -> None:
    memory = Memory.under(tmp_path)
    memory.remember(Subject.CONSENT, "", "airline-a")

    assert memory.partners(Subject.CONSENT) == []
