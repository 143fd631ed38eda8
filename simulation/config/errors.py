"""The one error type of bad input: where, which key, and what is allowed, in one line."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Bad scenario input: says where (file), what (key) and what is allowed, in one line.

    The CLI prints it as one line and exits with code 2; the dashboard shows it beside the
    control. Subclasses (trial files, the memory guard) keep the same shape.
    """

    def __init__(self, source: str, message: str, key: str | None = None):
        self.source, self.key, self.message = source, key, message
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + message)
