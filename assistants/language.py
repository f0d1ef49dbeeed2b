"""Which of the supported languages (en, de, fr, es) a customer message is written in.

A small detector of our own, built for exactly these four languages and for the short messages of a
help desk: each language scores the frequent function words it owns (a word two languages share,
"de" or "no", counts half for each), its letters (ß ä ö ü, ñ ¿ ¡, ç œ è ê) and its word endings
(-ung, -ción, -eux, -ing). No model file: nothing to load, a message costs a few microseconds. When a
message says too little (no word or letter votes clearly) the caller's fallback (the ticket's
language, the previous turn's) wins. bench/answer_quality.py --languages measures it.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from functools import cache

SUPPORTED = ("en", "de", "fr", "es")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

# The most frequent words of each language in customer messages: articles, pronouns, prepositions,
# auxiliaries, question words, greetings, thanks, yes/no, a few verbs every question uses.
FUNCTION_WORDS = {
    "en": """the a an and or but is are was were be been am do does did don't doesn't didn't isn't can't
        won't i'm it's i've i'd you're that's there's what's let's i you he she it we they me my your our
        their his her its this that these those there here what when where why how which who whom whose
        of to in on at for from with by about into over after before than then because if so not no yes
        can could would should will shall may might must have has had get got just still also too very
        please thanks thank hi hello hey any some all every each other another more most much many
        someone somebody anyone anything something nothing again already only ever never since until
        while off up out did work works worked working doesn't need want know like make way""",
    "de": """der die das den dem des ein eine einer einem einen eines und oder aber doch sondern ist sind
        war waren bin bist sein hat habe haben hatte hatten wird werden wurde kann können könnte muss
        müssen soll sollte darf möchte ich du er sie es wir ihr mich mir dich dir uns euch ihn ihm ihnen
        mein meine meinen meinem meiner dein deine unser unsere ihre ihren sich nicht kein keine keinen
        nichts auch noch schon nur sehr immer wieder mehr jetzt heute gestern morgen hier dort da wo wie
        was wann warum wer wem wen welche welcher welches woher wohin mit von zu zum zur bei nach aus für
        über unter vor hinter neben zwischen durch gegen ohne um im ins am vom beim auf ja nein bitte
        danke hallo guten tag vielen dank geklappt funktioniert funktionieren leider trotzdem dass ob
        wenn weil als denn also gibt geht gerne""",
    "fr": """le la les un une des du de et ou mais est sont suis es êtes sommes était été être ai as avons
        avez ont avait fait faire peut peux pouvez puis veux voudrais voudrait dois doit faut je tu il
        elle on nous vous ils elles me moi te toi se lui leur leurs mon ma mes ton ta tes son sa ses notre
        nos votre vos ce cet cette ces ça cela ceci qui que quoi quel quelle quels quelles quand où
        comment pourquoi combien ne pas plus jamais rien personne toujours encore déjà aussi très trop
        bien dans sur sous avec sans pour par chez entre vers depuis pendant avant après au aux en y
        oui non merci bonjour bonsoir salut svp s'il plaît c'est j'ai n'est d'un d'une qu'il l'on
        marche fonctionne si donc car alors a y""",
    "es": """el la los las un una unos unas lo de del al y o pero es son soy eres somos está están estoy
        estás estamos era fue ser estar he ha han has hemos había hay hacer hace puedo puede pueden
        puedes quiero quisiera necesito tengo tiene tienen debo yo tú él ella nosotros vosotros ellos
        ellas usted ustedes me te se nos le les mi mis tu tus su sus nuestro nuestra qué que quién
        cuál cuáles cuándo cuando dónde donde cómo como cuánto cuánta por para con sin sobre entre hasta
        desde en no sí ya muy más también todavía siempre nunca nada nadie algo alguien hola gracias
        favor buenos buenas días funciona funcionó sigue pues porque aunque si esto esta este estos
        estas eso esa ese a y voy va vas van vamos""",
}
# Letters only one or two of the languages write.
LETTERS = {
    "ß": {"de": 1.0}, "ä": {"de": 1.0}, "ö": {"de": 1.0}, "ü": {"de": 0.8, "fr": 0.2},
    "ñ": {"es": 1.0}, "¿": {"es": 2.0}, "¡": {"es": 2.0}, "á": {"es": 1.0}, "í": {"es": 1.0},
    "ó": {"es": 1.0}, "ú": {"es": 1.0}, "ç": {"fr": 1.0}, "œ": {"fr": 1.0}, "è": {"fr": 1.0},
    "ê": {"fr": 1.0}, "â": {"fr": 1.0}, "î": {"fr": 1.0}, "ô": {"fr": 1.0}, "û": {"fr": 1.0},
    "ù": {"fr": 1.0}, "ë": {"fr": 0.5}, "ï": {"fr": 0.5}, "à": {"fr": 1.0}, "é": {"fr": 0.6, "es": 0.4},
}  # fmt: skip
# Word endings typical of one language (checked on words of six letters or more).
ENDINGS = {
    "en": ("ing", "ness", "ly", "ed", "ful", "ship"),
    "de": ("ung", "ungen", "keit", "heit", "lich", "schaft", "chen", "ieren", "iert"),
    "fr": ("eux", "euse", "aient", "ait", "ais", "ée", "ées", "ment", "eur", "eurs", "oire"),
    "es": ("ción", "ciones", "idad", "mente", "amos", "ado", "ada", "ando", "iendo", "ía"),
}
MIN_SCORE = 1.0  # less evidence than one owned word says too little
_state: dict = {}


@cache
def _words() -> dict[str, dict[str, float]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for lang, text in FUNCTION_WORDS.items():
        for word in text.split():
            owners[word].add(lang)
    return {word: {lang: 1 / len(langs) for lang in langs} for word, langs in owners.items()}


def preload() -> float:
    started = time.perf_counter()
    _words()
    _state["load_seconds"] = time.perf_counter() - started
    return _state["load_seconds"]


def load_seconds() -> float | None:
    return _state.get("load_seconds")


def scores(text: str) -> dict[str, float]:
    """Each language's evidence in the text."""
    table = _words()
    out = dict.fromkeys(SUPPORTED, 0.0)
    lowered = (text or "").lower()
    for char in set(lowered) & LETTERS.keys():
        for lang, weight in LETTERS[char].items():
            out[lang] += weight * min(lowered.count(char), 3)
    for word in _WORD.findall(lowered):
        word = word.replace("’", "'")
        for lang, weight in table.get(word, {}).items():
            out[lang] += weight
        if word not in table and "'" in word:
            head = word.split("'", 1)[0]
            if head in ("l", "d", "j", "qu", "n", "c", "s", "m"):
                out["fr"] += 1.0
            elif word.endswith(("n't", "'s", "'m", "'re", "'ll", "'ve", "'d")):
                out["en"] += 1.0
        if len(word) >= 6:
            for lang, endings in ENDINGS.items():
                if word.endswith(endings):
                    out[lang] += 0.5
    return out


def detect(text: str, *, fallback: str = "") -> str:
    """The message's language, or `fallback` (if supported, else "en") when the text says too little."""
    fallback = fallback if fallback in SUPPORTED else ""
    found = scores(text)
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_SCORE or top - second < 0.5:
        return fallback or "en"
    return best
