"""Which of the supported languages (en, de, fr, es) a customer message is written in.

py3langid (langid.py's model, inside the package, numpy only) restricted to the four languages
decides longer messages; very short ones ("danke", "merci!") are told by their words, and when a
message says too little the caller's fallback (the ticket's language, the previous turn's) wins.
"""

from __future__ import annotations

import re
import threading
import time
from functools import cache

SUPPORTED = ("en", "de", "fr", "es")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that settle a short message on their own (greetings, thanks, yes/no, frequent verbs).
MARKERS = {
    "en": "hi hello thanks thank you yes no please the is it didn't doesn't works worked still help where my",
    "de": "hallo danke vielen ja nein bitte nicht ist das hat geklappt funktioniert immer noch mein wo ich",
    "fr": "bonjour salut merci oui non ça marche pas est mon où je suis toujours c'est",
    "es": "hola gracias sí no por favor funciona funcionó todavía sigue mi dónde está estoy",
}
MARKERS = {lang: frozenset(words.split()) for lang, words in MARKERS.items()}
_lock = threading.Lock()
_state: dict = {}


@cache
def _identifier():
    with _lock:
        started = time.perf_counter()
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(SUPPORTED))
        _state["load_seconds"] = time.perf_counter() - started
        return identifier


def preload() -> float:
    _identifier()
    return _state.get("load_seconds", 0.0)


def load_seconds() -> float | None:
    return _state.get("load_seconds")


def detect(text: str, *, fallback: str = "") -> str:
    """The message's language, or `fallback` (if supported, else "en") when the text says too little."""
    fallback = fallback if fallback in SUPPORTED else ""
    words = [w.lower() for w in _WORD.findall(text or "")]
    if not words:
        return fallback or "en"
    if len(words) <= 3:
        votes = {lang: sum(w in MARKERS[lang] for w in words) for lang in SUPPORTED}
        best = max(votes, key=votes.get)
        ranked = sorted(votes.values(), reverse=True)
        if ranked[0] and ranked[0] > ranked[1]:
            return best
        return fallback or "en"  # two or three unknown words say too little
    language, probability = _identifier().classify(text)
    if probability < 0.6:
        return fallback or "en"
    return language if language in SUPPORTED else (fallback or "en")
