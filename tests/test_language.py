"""The language detector: four languages, short help-desk messages, a fallback when a text says too little."""

import pytest

from assistants import language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wo finde ich die Rechnung für den letzten Monat?", "de"),
        ("Ich habe mein Passwort vergessen und komme nicht mehr rein", "de"),
        ("Je n'arrive pas à télécharger ma facture", "fr"),
        ("Est-ce que vous livrez le dimanche ?", "fr"),
        ("¿Puedo pagar con transferencia bancaria?", "es"),
        ("Necesito cambiar la dirección de mi cuenta", "es"),
        ("How do I change the email address on my account?", "en"),
        ("my invoice shows the wrong tax rate", "en"),
    ],
)
def test_sentences_are_told_apart(text, expected):
    assert language.detect(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("danke!", "de"),
        ("merci", "fr"),
        ("gracias", "es"),
        ("thanks", "en"),
        ("ça marche pas", "fr"),
        ("no funciona", "es"),
    ],
)
def test_short_messages_are_settled_by_their_words(text, expected):
    assert language.detect(text) == expected


def test_a_message_that_says_too_little_keeps_the_fallback():
    assert language.detect("PX-5512", fallback="de") == "de"
    assert language.detect("ok", fallback="fr") == "fr"
    assert language.detect("", fallback="es") == "es"


def test_an_unsupported_fallback_becomes_english():
    assert language.detect("12345", fallback="it") == "en"


def test_accents_alone_vote_for_their_language():
    assert language.detect("Überweisung", fallback="en") == "de"
    assert language.detect("¿señal?", fallback="en") == "es"


def test_the_detector_loads_at_once():
    assert language.preload() < 0.1
