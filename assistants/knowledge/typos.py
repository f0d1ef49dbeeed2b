"""Typo tolerance: a word the knowledge base never uses is read as the known word one edit away
(a letter missing, added, changed, or two letters swapped), the most frequent one if several are.

Symmetric deletion: every known word is indexed under itself and each of its one-letter deletions;
an unknown word looks up itself and its own deletions. That finds every word within one edit (and
a swap) with a few dictionary look-ups, where difflib compared the word with the whole vocabulary.
"""

from __future__ import annotations

from collections import Counter

MIN_LENGTH = 5  # shorter words have too many neighbours one edit away


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    def __init__(self, counts: Counter):
        self.counts = counts
        self.by_key: dict[str, set[str]] = {}
        for word in counts:
            if len(word) >= MIN_LENGTH - 1:
                for key in _deletions(word) | {word}:
                    self.by_key.setdefault(key, set()).add(word)

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str | None:
        """The known word one edit away from an unknown one (None if it is known, short, or has no
        such neighbour)."""
        if word in self.counts or len(word) < MIN_LENGTH:
            return None
        found: set[str] = set()
        for key in _deletions(word) | {word}:
            found |= self.by_key.get(key, set())
        found = {w for w in found if _one_edit(word, w)}
        if not found:
            return None
        return max(sorted(found), key=lambda w: self.counts[w])


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance one, or two neighbouring letters swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
