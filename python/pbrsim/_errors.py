"""Exceptions raised by pbrsim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario, located as precisely as the input allows.

    ``file`` is the scenario's origin (its path, ``<dict>`` for
    :meth:`pbrsim.Scenario.from_dict`, or ``--set`` for an override),
    ``line`` and ``column`` are 1-based (``None`` when unknown), ``key`` the
    dotted path of the key at fault, ``message`` what is wrong and what was
    expected, ``help`` a suggestion such as a correctly spelled key.
    """

    file: str
    line: Optional[int]
    column: Optional[int]
    key: Optional[str]
    message: str
    help: Optional[str]

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.key:
            text += f"\n  key: {self.key}"
        if self.help:
            text += f"\n  help: {self.help}"
        return text


class ScenarioError(ValueError):
    """A scenario (or an override of one) is malformed or out of range.

    ``problems`` lists every problem found, each a :class:`Problem` with
    its file, line, column, key, message and suggestion.
    """

    def __init__(self, message: str, problems: List[dict]):
        super().__init__(message)
        self.problems: List[Problem] = [Problem(**p) for p in problems]
