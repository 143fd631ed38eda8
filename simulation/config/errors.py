"""The one error type of bad input: where, which key, and what is allowed, in one line."""

from __future__ import annotations


def one_line(text: str) -> str:
    """`text` with line breaks and other unprintable characters escaped as repr() shows them.

    A file name, a key or a value typed by a user may hold a line break; escaped, the message
    stays one line and still shows exactly what was given.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ScenarioError(ValueError):
    """Bad scenario input: says where (file), what (key) and what is allowed, in one line.

    The CLI prints it as one line and exits with code 2; the dashboard shows it beside the
    control. Subclasses (trial files, the memory guard) keep the same shape. Every part is passed
    through `one_line`, so no input can break the message over several lines.
    """

    def __init__(self, source: str, message: str, key: str | None = None):
        self.source, self.message = one_line(source), one_line(message)
        self.key = None if key is None else one_line(key)
        where = f"{self.source}: {self.key}: " if self.key else f"{self.source}: "
        super().__init__(where + self.message)
