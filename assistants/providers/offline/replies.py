"""What the offline assistant says, in English, German, French and Spanish: a one-line greeting, the
answer (the passage that answers, quoted as plain text), a one-line closing."""

from __future__ import annotations

import re

TEMPLATES = {
    "greeting": {"en": "Hello,", "de": "Hallo,", "fr": "Bonjour,", "es": "Hola,"},
    "closing": {
        "en": "If this does not solve it, reply here and tell me what you see.",
        "de": "Wenn das nicht weiterhilft, antworten Sie hier und beschreiben Sie, was Sie sehen.",
        "fr": "Si cela ne règle pas le problème, répondez ici en décrivant ce que vous voyez.",
        "es": "Si esto no lo resuelve, responda aquí y cuénteme qué ve.",
    },
    "from_article": {
        "en": "From our help center ({title}):",
        "de": "Aus unserem Hilfe-Center ({title}):",
        "fr": "Extrait de notre centre d'aide ({title}) :",
        "es": "De nuestro centro de ayuda ({title}):",
    },
    "other_language": {
        "en": "(This article is in {language}.)",
        "de": "(Dieser Artikel ist auf {language}.)",
        "fr": "(Cet article est en {language}.)",
        "es": "(Este artículo está en {language}.)",
    },
    "not_sure_which": {
        "en": "I want to be sure I answer the right question: is it about {a}, or about {b}? "
        "If it is something else, tell me a little more, or ask for a person and a member of our team will "
        "take over.",
        "de": "Ich möchte sicher sein, dass ich die richtige Frage beantworte: Geht es um {a} oder um {b}? "
        "Wenn es um etwas anderes geht, erzählen Sie mir etwas mehr, oder bitten Sie um eine Person aus "
        "unserem Team.",
        "fr": "Je veux être sûr de répondre à la bonne question : s'agit-il de {a} ou de {b} ? Sinon, "
        "dites-m'en un peu plus, ou demandez à parler à une personne de notre équipe.",
        "es": "Quiero estar seguro de responder a la pregunta correcta: ¿se trata de {a} o de {b}? Si es otra "
        "cosa, cuénteme un poco más, o pida hablar con una persona de nuestro equipo.",
    },
    "ask_details": {
        "en": "I am not sure I have the right answer for this. Could you tell me a little more: what you "
        "were trying to do, what happened instead, and any error message you saw? If you prefer, ask for a "
        "person and a member of our team will take over.",
        "de": "Ich bin nicht sicher, ob ich die richtige Antwort habe. Können Sie mir etwas mehr erzählen: "
        "Was wollten Sie tun, was ist stattdessen passiert, gab es eine Fehlermeldung? Sie können auch um eine "
        "Person aus unserem Team bitten.",
        "fr": "Je ne suis pas sûr d'avoir la bonne réponse. Pouvez-vous m'en dire un peu plus : ce que vous "
        "vouliez faire, ce qui s'est passé, et le message d'erreur éventuel ? Vous pouvez aussi demander une "
        "personne de notre équipe.",
        "es": "No estoy seguro de tener la respuesta correcta. ¿Puede contarme un poco más: qué quería hacer, "
        "qué pasó y si vio algún mensaje de error? También puede pedir hablar con una persona de nuestro "
        "equipo.",
    },
    "handoff_unsure": {
        "en": "I am not sure I can answer this correctly, so I have passed your ticket to our support team. "
        "A member of the team will reply here as soon as possible.",
        "de": "Ich bin nicht sicher, ob ich das richtig beantworten kann, deshalb habe ich Ihr Ticket an unser "
        "Support-Team weitergegeben. Jemand aus dem Team antwortet hier so bald wie möglich.",
        "fr": "Je ne suis pas sûr de pouvoir répondre correctement, j'ai donc transmis votre ticket à notre "
        "équipe. Quelqu'un vous répondra ici dès que possible.",
        "es": "No estoy seguro de poder responder correctamente, así que he pasado su ticket a nuestro equipo. "
        "Una persona le responderá aquí lo antes posible.",
    },
    "handoff_not_solved": {
        "en": "I am sorry that did not solve it. I have passed your ticket to our support team, and a member "
        "of the team will reply here as soon as possible.",
        "de": "Es tut mir leid, dass das nicht geholfen hat. Ich habe Ihr Ticket an unser Support-Team "
        "weitergegeben; jemand aus dem Team antwortet hier so bald wie möglich.",
        "fr": "Je suis désolé que cela n'ait pas suffi. J'ai transmis votre ticket à notre équipe ; quelqu'un "
        "vous répondra ici dès que possible.",
        "es": "Siento que no lo haya resuelto. He pasado su ticket a nuestro equipo y una persona le responderá "
        "aquí lo antes posible.",
    },
    "handoff_person": {
        "en": "Of course. I have passed your ticket to our support team, and a member of the team will reply "
        "here as soon as possible.",
        "de": "Gern. Ich habe Ihr Ticket an unser Support-Team weitergegeben; jemand aus dem Team antwortet "
        "hier so bald wie möglich.",
        "fr": "Bien sûr. J'ai transmis votre ticket à notre équipe ; quelqu'un vous répondra ici dès que possible.",
        "es": "Por supuesto. He pasado su ticket a nuestro equipo y una persona le responderá aquí lo antes posible.",
    },
    "handoff_upset": {
        "en": "I am sorry for the trouble. I have passed your ticket to our support team, and a member of the "
        "team will reply here as soon as possible.",
        "de": "Es tut mir leid für die Unannehmlichkeiten. Ich habe Ihr Ticket an unser Support-Team "
        "weitergegeben; jemand aus dem Team antwortet hier so bald wie möglich.",
        "fr": "Je suis désolé pour ce désagrément. J'ai transmis votre ticket à notre équipe ; quelqu'un vous "
        "répondra ici dès que possible.",
        "es": "Siento las molestias. He pasado su ticket a nuestro equipo y una persona le responderá aquí lo "
        "antes posible.",
    },
    "status": {
        "en": "Your ticket {reference} is currently {status}, with {priority} priority.",
        "de": "Ihr Ticket {reference} hat den Status „{status}“, Priorität {priority}.",
        "fr": "Votre ticket {reference} est actuellement « {status} », priorité {priority}.",
        "es": "Su ticket {reference} está ahora «{status}», con prioridad {priority}.",
    },
    "status_assignee": {
        "en": "{assignee} from our team is looking after it.",
        "de": "{assignee} aus unserem Team kümmert sich darum.",
        "fr": "{assignee} de notre équipe s'en occupe.",
        "es": "{assignee}, de nuestro equipo, se ocupa de él.",
    },
    "status_closing": {
        "en": "We will post every update here.",
        "de": "Alle Neuigkeiten erscheinen hier.",
        "fr": "Toutes les nouvelles seront publiées ici.",
        "es": "Publicaremos aquí cada novedad.",
    },
    "no_code": {
        "en": "Running code or creating files (a calculation, a spreadsheet, a chart) is not available in this "
        "help desk. A member of our support team can help with that: just say so here.",
        "de": "Code ausführen oder Dateien erstellen (eine Berechnung, eine Tabelle, ein Diagramm) ist in diesem "
        "Helpdesk nicht verfügbar. Ein Mitglied unseres Support-Teams hilft gern: schreiben Sie es einfach hier.",
        "fr": "Exécuter du code ou créer des fichiers (un calcul, un tableur, un graphique) n'est pas disponible "
        "ici. Un membre de notre équipe peut vous aider : dites-le simplement ici.",
        "es": "Ejecutar código o crear archivos (un cálculo, una hoja de cálculo, un gráfico) no está disponible "
        "aquí. Un miembro de nuestro equipo puede ayudarle: solo dígalo aquí.",
    },
    "acknowledge": {
        "en": "I am glad that helped! Shall I close this ticket? Reply \u201cyes\u201d and I will mark it as "
        "solved; if anything else comes up, just write here.",
        "de": "Schön, dass es geholfen hat! Soll ich dieses Ticket schließen? Antworten Sie \u201eja\u201c, "
        "dann markiere ich es als gelöst; bei weiteren Fragen schreiben Sie einfach hier.",
        "fr": "Ravi que cela ait aidé ! Voulez-vous que je ferme ce ticket ? Répondez « oui » et je le marque "
        "comme résolu ; pour toute autre question, écrivez ici.",
        "es": "¡Me alegro de que haya servido! ¿Cierro este ticket? Responda «sí» y lo marcaré como resuelto; "
        "si surge algo más, escriba aquí.",
    },
    "closed": {
        "en": "Done: I have marked your ticket as solved. If you need anything else, reply here and it opens again.",
        "de": "Erledigt: Ihr Ticket ist als gelöst markiert. Wenn Sie noch etwas brauchen, antworten Sie hier, "
        "dann wird es wieder geöffnet.",
        "fr": "C'est fait : votre ticket est marqué comme résolu. Si vous avez besoin d'autre chose, répondez "
        "ici et il sera rouvert.",
        "es": "Hecho: su ticket está marcado como resuelto. Si necesita algo más, responda aquí y se volverá a abrir.",
    },
    "already_shown": {
        "en": "I have already shared what our help center says about this above (\u201c{title}\u201d). If that does "
        "not answer it, tell me what is still unclear, or ask for a person and a member of our team will take over.",
        "de": "Was unser Hilfe-Center dazu sagt, habe ich oben schon geschickt (\u201e{title}\u201c). Wenn das Ihre "
        "Frage nicht beantwortet, sagen Sie mir, was noch unklar ist, oder bitten Sie um eine Person aus unserem Team.",
        "fr": "Je vous ai déjà transmis ci-dessus ce que dit notre centre d'aide (« {title} »). Si cela ne répond pas "
        "à votre question, dites-moi ce qui reste flou, ou demandez une personne de notre équipe.",
        "es": "Ya le envié arriba lo que dice nuestro centro de ayuda («{title}»). Si no responde a su pregunta, "
        "dígame qué sigue sin estar claro, o pida hablar con una persona de nuestro equipo.",
    },
    "try_this": {
        "en": "Sorry that did not help. This may be what you need:",
        "de": "Schade, dass das nicht geholfen hat. Vielleicht hilft das hier:",
        "fr": "Désolé que cela n'ait pas aidé. Voici qui pourrait vous être utile :",
        "es": "Siento que no haya servido. Quizá esto le ayude:",
    },
    "other_part": {
        "en": "I am not sure about your other question (\u201c{part}\u201d): could you tell me a little more, or "
        "ask for a person?",
        "de": "Bei Ihrer anderen Frage (\u201e{part}\u201c) bin ich nicht sicher: Können Sie etwas mehr dazu "
        "sagen, oder möchten Sie mit einer Person sprechen?",
        "fr": "Pour votre autre question (« {part} »), je ne suis pas sûr : pouvez-vous préciser, ou préférez-"
        "vous parler à une personne ?",
        "es": "Sobre su otra pregunta («{part}») no estoy seguro: ¿puede darme más detalles, o prefiere hablar "
        "con una persona?",
    },
}
LANGUAGE_NAMES = {
    "en": {"en": "English", "de": "German", "fr": "French", "es": "Spanish"},
    "de": {"en": "Englisch", "de": "Deutsch", "fr": "Französisch", "es": "Spanisch"},
    "fr": {"en": "anglais", "de": "allemand", "fr": "français", "es": "espagnol"},
    "es": {"en": "inglés", "de": "alemán", "fr": "francés", "es": "español"},
}
MAX_QUOTE = 600


def say(key: str, lang: str, **values) -> str:
    table = TEMPLATES[key]
    return table.get(lang, table["en"]).format(**values)


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """The passage as it will be shown: whole if short, else cut at the last sentence that fits."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"), cut.rfind("\n"))
    return (cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + " …").strip()


def answer_block(hit: dict, language: str, *, lead: str = "") -> str:
    lines = []
    if lead:
        lines.append(lead)
    lines.append(say("from_article", language, title=hit["title"]))
    lines.append(quote(hit["text"]))
    if hit.get("language") and hit["language"] != language:
        names = LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"])
        lines.append(say("other_language", language, language=names.get(hit["language"], hit["language"])))
    return "\n".join(lines)


def compose(language: str, *blocks: str, closing: bool = True) -> str:
    parts = [say("greeting", language), *[b for b in blocks if b]]
    if closing:
        parts.append(say("closing", language))
    return "\n\n".join(parts)


def short(text: str, words: int = 12) -> str:
    tokens = re.findall(r"\S+", text.strip())
    return " ".join(tokens[:words]) + (" …" if len(tokens) > words else "")
