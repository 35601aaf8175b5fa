"""Stored or imported text shown on an operator's terminal, with every control
character escaped.

A CSV cell or a display name can hold ``ESC [2J`` (clear the screen), an OSC sequence
(set the window title, or worse on some terminals), a carriage return that hides what
came before, or a right-to-left override that shows text in another order than it is.
Each of those is shown as its Python escape (``\\x1b``, ``\\r``, ``\\u202e``) instead of
being sent to the terminal. One function, used by every command-line output of stored
or imported data (adapters/cli.py, bot/pairs_import.py).
"""

from __future__ import annotations

import unicodedata

# Unicode categories that do something to a terminal or to the order text is shown in
# rather than print: controls (C0, DEL, C1), format characters (bidi overrides and
# isolates, zero-width joiners), line and paragraph separators, surrogates, unassigned.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Format characters that only join or part letters and emoji (👩\u200d💻): kept.
_JOINERS = frozenset({"\u200c", "\u200d"})


def _escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` with each control or format character written as its escape; anything
    printable (letters of every script, emoji, spaces) is left as it is."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(
        _escaped(char)
        if unicodedata.category(char) in _ESCAPED_CATEGORIES and char not in _JOINERS
        else char
        for char in text
    )
