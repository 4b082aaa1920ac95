"""Numbers to words for prompts and descriptions: a value falls in the first band it exceeds."""

from __future__ import annotations

from collections.abc import Sequence


def band_word(value: float, bands: Sequence[tuple[float, str]], below: str) -> str:
    """The word of the first (floor, word) band with value > floor, bands from the top down;
    `below` when the value exceeds none."""
    for floor, word in bands:
        if value > floor:
            return word
    return below
