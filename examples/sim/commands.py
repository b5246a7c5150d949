"""Reading the simulator's command lines: ``name --id CP1 field=value field={"json": true} ...``.

Values follow the ocppjs simulator: a JSON value where the text is one (numbers, ``true``, quoted
strings, objects, arrays), else the plain text. Words are split on spaces outside quotes and brackets,
so JSON objects and arrays may contain spaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class CommandError(ValueError):
    """A command line that cannot be read; the message is the usage hint to print."""


@dataclass
class Command:
    name: str
    raw: str = ""
    """The line after the command name, untouched (for ``send_raw``)."""
    args: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


def split_words(line: str) -> list[str]:
    """Split on whitespace, keeping quoted strings and bracketed JSON (with their spaces) in one word."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    escaped = False
    for char in line:
        if quote:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char.isspace() and depth == 0:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(char)
    if quote:
        raise CommandError(f"unterminated quote in: {line}")
    if current:
        words.append("".join(current))
    return words


def parse_value(text: str) -> Any:
    """``20`` → 20, ``"20"`` → "20", ``{"a": 1}`` → dict, ``'x'`` → "x", ``DBT`` → "DBT"."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


OPTIONAL_VALUE = frozenset({"cluster"})
"""Options whose value may be left out (``--cluster`` alone: an embedded NATS); then their value is ``""``."""


def _is_option(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not _is_number(word)


def parse(line: str) -> Command | None:
    """One command line; None for a blank line or a comment. Every ``-x`` / ``--name`` option takes a value
    (but those of :data:`OPTIONAL_VALUE`, which take the next word only when it is a URL, ``nats://...``)."""
    words = split_words(line.strip())
    if not words or words[0].startswith("#"):
        return None
    command = Command(words[0].lower(), raw=line.strip()[len(words[0]) :].strip())
    rest = words[1:]
    while rest:
        word = rest.pop(0)
        if _is_option(word):
            name = word.lstrip("-")
            if name in OPTIONAL_VALUE and (not rest or _is_option(rest[0]) or "://" not in rest[0]):
                command.options[name] = ""
            elif not rest:
                raise CommandError(f"{word} needs a value")
            else:
                command.options[name] = rest.pop(0)
        elif "=" in word and word[0] not in "{[\"'":
            key, _, value = word.partition("=")
            command.fields[key] = parse_value(value)
        else:
            command.args.append(word)
    return command
