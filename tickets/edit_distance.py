"""How much a person changed an assistant's draft before sending it: the dashboard's "mean edit
distance" is the word-level Levenshtein distance (words inserted, deleted or replaced)."""

from __future__ import annotations

import re

# Longer drafts are compared on their first words only: the figure stays cheap to compute.
MAX_WORDS = 2000


def words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())[:MAX_WORDS]


def word_distance(before: str, after: str) -> int:
    """Levenshtein distance between the two texts' words (case-insensitive; punctuation counts as words)."""
    a, b = words(before), words(after)
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, word_a in enumerate(a, start=1):
        current = [i]
        for j, word_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word_a != word_b)))
        previous = current
    return previous[-1]
