"""What a customer message asks for, by meaning rather than by single words, in en/de/fr/es.

Escalation needs a construction, never a bare word: "speak to somebody", "put me through", "is there
a phone number I can call", "call me back", "I want to complain", "I'm switching to another
carrier", "my lawyer will...", insults. "A human-readable PDF", "the agent app", "add my manager as a
viewer", "kill a recurring invoice" and "protected against fraud" contain the words but ask nothing
of the kind, so they stay questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PERSON = (
    r"(?:a |an |one |some |any |the |your )?(?:real |actual |live |human )?"
    r"(?:one|body|person|people|human|humans|agent|representative|rep|operator|manager|supervisor|advisor|adviser|"
    r"somebody|someone|anyone|anybody|whoever|member of (?:your |the )?(?:staff|team)|"
    r"(?:support|service|customer service|customer support|help ?desk) (?:team|staff|agent|person)|"
    r"(?:support|customer service|team|staff))"
)
F = re.I | re.U

ESCALATION = {
    "person": [
        # en
        rf"\b(?:speak|talk|chat|discuss|go over)(?:ing)?(?: (?:this|it|that|things|the matter))? "
        rf"(?:to|with) {_PERSON}\b",
        r"\b(?:put|transfer|connect|pass|forward) me (?:through|on|over)?\s*(?:to|with)\b",
        r"\bput me through\b",
        r"\bescalate (?:this|it|my (?:ticket|case|issue|request)|me)\b",
        r"\b(?:real|actual|live) (?:person|human|agent|people)\b",
        r"\b(?:get|give|find|bring|send) me (?:a |an |some )?(?:real |actual )?(?:person|human|agent|someone|somebody|"
        r"manager|supervisor)\b",
        r"\b(?:want|need|like|prefer) (?:a |an |to have a )?(?:real |actual )?(?:person|human|agent)\b(?! to sign)",
        r"\bcan (?:a|one of your|some) ?(?:human|person|one|body|agent|staff)s? (?:please )?(?:look|check|help|review|"
        r"call|contact|take)\b",
        r"\b(?:someone|somebody|a person|a human) from (?:your|the) (?:team|support|staff|company|office)\b",
        # somebody on the company's side, whatever the department is called ("someone from your billing people")
        r"\b(?:someone|somebody|anyone|anybody|a person|a human|one of you) (?:from|at|in|on) your\b",
        # asked to come back to the customer: the subject is the company's side, not a client of theirs
        r"\b(?:someone|somebody|anyone|anybody|you|you guys|your (?:team|staff|people|support))\b[^.?!]{0,40}"
        r"\b(?:get back to|contact|reach out to) me\b",
        r"\b(?:is )?(?:any|some)(?:one|body) (?:there|here|available)(?: who| that)? (?:can|could|to)\b",
        r"\b(?:no|not|stop|enough)(?: more)?(?: sending me| talking to)?(?: a| the| your| these)? (?:bot|robot|machine|"
        r"automated)s?\b",
        r"\b(?:bot|robot|automated|canned) (?:answers?|replies|responses|messages)\b",
        r"\b(?:contact|reach|speak to) (?:your |the )?(?:support|customer service|help ?desk|team)\b",
        # de
        r"\b(?:mit|zu) (?:einem|einer|jemandem|ihrem|ihrer|einem echten|einer echten) ?(?:menschen|mitarbeiter(?:in)?|"
        r"person|berater(?:in)?|kundenberater(?:in)?|ansprechpartner(?:in)?|vorgesetzten|chef|verantwortlichen)?\b"
        r"[^.?!]{0,30}\b(?:sprechen|reden|telefonieren|verbinden|besprechen|klären|unterhalten)\b",
        r"\b(?:echten|richtigen) (?:menschen|mitarbeiter|person)\b",
        r"\bmit jemandem\b[^.?!]{0,20}\b(?:sprechen|reden|besprechen|klären)\b",
        # fr
        r"\b(?:parler|discuter|échanger) (?:à|a|avec) (?:quelqu'un|quelqu’un|"
        r"un(?:e)? (?:vraie? )?(?:personne|humain|conseill(?:er|ère)|"
        r"agent|responsable|interlocuteur)|le service client|votre service|une vraie personne)",
        r"\b(?:un|une) (?:vrai|vraie) (?:personne|humain)\b",
        r"\b(?:mettez|passez)-moi\b",
        # es
        r"\b(?:hablar|conversar|comunicarme|hablarlo) con (?:alguien|una persona|"
        r"un(?:a)? (?:humano|agente|asesor(?:a)?|responsable|persona real|"
        r"operador(?:a)?)|el servicio|su equipo|atención al cliente)",
        r"\b(?:una )?persona real\b",
    ],
    "phone": [
        r"\b(?:is there|do you have|have you got|what is|what's|give me|can i (?:get|have)|send me)\b[^.?!]{0,20}"
        r"\b(?:phone|telephone|contact|hotline|support) ?(?:number|line)\b",
        r"\bhotline\b",
        r"\b(?:call|ring|phone) me(?: back)?\b",
        r"\b(?:can|could|may|where do) i (?:call|ring|phone)\b",
        r"\bnumber i can (?:call|ring)\b",
        r"\b(?:a )?call ?back\b",
        # de
        r"\b(?:haben sie|gibt es|wie lautet|welche ist)\b[^.?!]{0,20}\b(?:telefonnummer|hotline|rufnummer)\b",
        r"\b(?:zurückrufen|rückruf|rufen sie mich|ruft mich|ruf mich)\b",
        r"\bkann ich (?:sie|euch|jemanden) (?:anrufen|erreichen)\b",
        # fr
        r"\b(?:avez-vous|vous avez|quel est (?:votre|le)|donnez-moi|il y a)\b[^.?!]{0,20}"
        r"\bnuméro de (?:téléphone|telephone)\b",
        r"\b(?:rappelez-moi|me rappeler|rappelez moi|m'appeler|m’appeler|appelez-moi)\b",
        r"\bpuis-je vous appeler\b",
        # es
        r"\b(?:tienen|hay|cuál es|me dan|tienes)\b[^.?!]{0,20}\bnúmero de teléfono\b",
        r"\bme (?:pueden|puede|podrían|podría|podéis) llamar\b",
        r"\b(?:llámenme|llamadme|llamarme|llámame)\b",
    ],
    "complaint": [
        r"\b(?:make|file|lodge|submit|raise|register) (?:a |an )?(?:formal |official )?complaint\b",
        r"\bi (?:want|wish|would like|'d like|need) to complain\b",
        r"\b(?:this|that|it) (?:is|'s) (?:absolutely |totally |completely )?(?:unacceptable|outrageous|ridiculous|"
        r"a joke|a disgrace|disgraceful|scandalous)\b",
        r"\bworst (?:service|company|support|experience|delivery)\b",
        r"\b(?:i'?m|i am) (?:so |really |very )?(?:angry|furious|livid|disgusted|fed up|sick and tired)\b",
        r"\bfed up\b",
        # de
        r"\b(?:beschweren|beschwerde)\b",
        r"\b(?:frechheit|unverschämt|unverschämtheit|skandal|inakzeptabel|unzumutbar)\b",
        # fr
        r"\b(?:réclamation (?:officielle|formelle)|me plaindre|porter réclamation|inadmissible|scandaleux|"
        r"inacceptable)\b",
        # es
        r"\b(?:poner una queja|presentar una queja|una queja|quejarme|reclamación formal|inaceptable|vergüenza)\b",
    ],
    "leaving": [
        r"\b(?:switch|switching|move|moving|go|going|change|changing) (?:over )?to (?:another|a different|a competitor|"
        r"your competitor|the competition|dhl|ups|fedex|dpd|gls)\b",
        r"\b(?:i'?m|i am|we'?re|we are) (?:leaving|done with you|taking my business elsewhere)\b",
        r"\bnever (?:use|using|order with) (?:you|parcelly|your service) again\b",
        r"\btake my business elsewhere\b",
        # a threat: cancelling on a condition ("... if nobody answers today")
        r"\bcancel\w* (?:my|our|the) (?:account|subscription|contract|plan)\b[^.?!]{0,25}\b(?:if|unless)\b",
        r"\b(?:kündige|kündigen)\b[^.?!]{0,40}\b(?:wenn|falls)\b",
        r"\brésilie\w*\b[^.?!]{0,40}\b(?:si|sinon)\b",
        r"\b(?:cancelar|cancelo|dar de baja)\b[^.?!]{0,30}\bsi\b",
        # de
        r"\b(?:wechsle|wechseln) (?:zu|zur) (?:einem anderen|einer anderen|der konkurrenz)\b",
        r"\b(?:anderen anbieter|zur konkurrenz)\b",
        # fr
        r"\b(?:chez un concurrent|à la concurrence|chez la concurrence|changer de transporteur)\b",
        # es
        r"\b(?:a la competencia|otra empresa de envíos|cambiarme de empresa|me voy con otra)\b",
    ],
    "legal": [
        r"\b(?:my |a |our )?(?:lawyer|attorney|solicitor)s? (?:will|is going to|shall|'ll|are going to|is|has been)\b",
        r"\b(?:sue|suing) (?:you|parcelly|your company)\b",
        r"\b(?:legal action|take (?:you|this|it) to court|small claims|consumer protection|trading standards|"
        r"report you to)\b",
        r"\bchargeback\b",
        # de
        r"\b(?:anwalt|rechtsanwalt|anwältin|verklagen|klage einreichen|verbraucherzentrale|rechtliche schritte)\b",
        # fr
        r"\b(?:porter plainte|mon avocat|un avocat|poursuivre en justice|au tribunal|association de consommateurs)\b",
        # es
        r"\b(?:abogado|denunciar|demandar|denuncia|acciones legales|consumo)\b",
    ],
    "abuse": [
        r"\b(?:you|you're|you are|ur|your (?:company|team|staff|bot))\b[^.?!]{0,30}\b(?:idiots?|morons?|stupid|"
        r"incompetent|clowns|pathetic|imbeciles?|liars?|thieves|crooks|useless)\b",
        r"\b(?:fuck|fucking|shit|bullshit|wtf|damn you|screw you)\b",
        r"\b(?:i will|i'll|i'm going to|gonna) (?:kill|hurt|find) you\b",
        r"\b(?:idioten|vollidioten|scheiß|scheiss|verdammt)\b",
        r"\b(?:connards?|incompétents|bande d'idiots|merde)\b",
        r"\b(?:idiotas|inútiles|incompetentes|mierda)\b",
    ],
}
ESCALATION = {kind: [re.compile(p, F) for p in patterns] for kind, patterns in ESCALATION.items()}

STATUS = re.compile(
    r"\b(?:status of (?:my|the|this) (?:ticket|request|case)|ticket status|any update|an update on|any news|"
    r"still waiting for (?:a|an|your) (?:reply|answer|response)|stand (?:meines|des) tickets|gibt es neuigkeiten|"
    r"des nouvelles|où en est mon ticket|alguna novedad|estado de mi (?:ticket|solicitud))\b",
    F,
)
NOT_SOLVED = re.compile(
    r"\b(?:did ?n[o']?t|does ?n[o']?t|do ?n[o']?t|not|never) (?:work|help|fix|solve)|\bstill (?:broken|not|nothing|"
    r"no|the same|doesn'?t|didn'?t|can'?t|waiting|stuck|missing)|\bno luck\b|\bsame (?:problem|issue|error)\b|"
    r"\bnot (?:working|it|what i (?:asked|meant))\b|\bthat'?s not it\b|\bwrong answer\b|"
    r"\b(?:hat|hilft|klappt|funktioniert)(?: immer noch| leider)? nicht\b|\bnicht (?:geklappt|funktioniert|geholfen)\b|"
    r"\bimmer noch\b|\bça (?:ne )?(?:marche|fonctionne) (?:pas|toujours pas)\b|\bne (?:marche|fonctionne) pas\b|"
    r"\btoujours pas\b|\bn'a pas (?:marché|fonctionné|aidé)\b|\bno (?:funciona|funcionó|sirve|sirvió|ha funcionado)\b|"
    r"\bsigue sin\b|\btodavía no\b",
    F,
)
THANKS = re.compile(
    r"\b(?:thanks?|thank you|thx|cheers|great|perfect|awesome|brilliant|excellent|that (?:worked|helped|did it|"
    r"solved it|fixed it|answers it)|it works|works now|problem solved|all good|all sorted|sorted|got it|"
    r"danke|vielen dank|super|perfekt|hat geklappt|funktioniert jetzt|alles klar|merci|parfait|ça marche|"
    r"ça a marché|c'est bon|génial|gracias|perfecto|funcionó|ya funciona|genial|solucionado)\b",
    F,
)
AFFIRM = re.compile(
    r"^\W*(?:yes|yeah|yep|sure|ok(?:ay)?|please do|please close|close it|you can close|ja|gerne|bitte schließen|"
    r"oui|d'accord|sí|si|claro|vale|ciérralo)\b",
    F,
)
_QUESTION_WORDS = re.compile(
    r"\b(?:how|what|where|when|why|which|can i|could i|do you|does|is there|wie|was|wo|wann|warum|kann ich|"
    r"comment|quoi|où|quand|pourquoi|puis-je|cómo|qué|dónde|cuándo|por qué|puedo)\b",
    F,
)


@dataclass
class Escalation:
    kind: str  # person | phone | complaint | leaving | legal | abuse | shouting

    @property
    def reason(self) -> str:
        return {
            "person": "The customer asked for a person.",
            "phone": "The customer asked for a phone call.",
            "complaint": "The customer is complaining.",
            "leaving": "The customer says they will leave.",
            "legal": "The customer mentions legal steps.",
            "abuse": "The customer is abusive or very upset.",
            "shouting": "The customer seems very upset.",
        }[self.kind]


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7


def escalation(text: str) -> Escalation | None:
    for kind, patterns in ESCALATION.items():
        if any(p.search(text) for p in patterns):
            return Escalation(kind)
    if _shouting(text):
        return Escalation("shouting")
    return None


def is_status_question(text: str) -> bool:
    return bool(STATUS.search(text))


def is_not_solved(text: str) -> bool:
    return bool(NOT_SOLVED.search(text))


def _short(text: str, words: int) -> bool:
    return len(re.findall(r"\w+", text)) <= words


def is_thanks(text: str) -> bool:
    """A thank-you or "that worked" with no new question in it."""
    if not THANKS.search(text) or is_not_solved(text):
        return False
    return "?" not in text and not _QUESTION_WORDS.search(text) and _short(text, 12)


def is_affirmation(text: str) -> bool:
    return bool(AFFIRM.search(text)) and _short(text, 6) and "?" not in text


_MARKED = re.compile(
    r"(?:[?.!]\s+|,?\s+)(?:and also|also|plus|additionally|and|und außerdem|außerdem|und|et aussi|aussi|et|"
    r"y también|también|y)[,:]?\s+(?=(?:can|could|how|what|where|when|do|does|is|are|will|should|may|why|i|my|"
    r"wie|was|wo|wann|kann|comment|quand|où|puis-je|cómo|cuándo|dónde|puedo)\b)",
    F,
)
_SENTENCE = re.compile(r"(?<=[?.!])\s+")


def question_parts(text: str) -> list[str]:
    """A message asking two things, split in two: at "also"/"and" before a new question, or between
    two sentences that are both questions. One part otherwise (a statement and a question about the
    same thing stay together)."""
    text = text.strip()
    for pattern, both_questions in ((_MARKED, False), (_SENTENCE, True)):
        pieces = [p.strip(" ,;") for p in pattern.split(text, maxsplit=1)]
        pieces = [p for p in pieces if len(re.findall(r"\w+", p)) >= 3]
        if len(pieces) == 2 and (not both_questions or all(looks_like_question(p) for p in pieces)):
            return pieces
    return [text]


def looks_like_question(text: str) -> bool:
    return "?" in text or bool(_QUESTION_WORDS.search(text))


# A request to run code or produce a file by computation (the OpenAI provider's code interpreter).
CODE_REQUEST = re.compile(
    r"\b(?:run|execute|ex[ée]cuter?|ausf[üu]hren|ejecutar?)\b.{0,30}\b(?:code|python|script|program|programm|c[óo]digo)\b"
    r"|\bcode[ -]interpreter\b"
    r"|\b(?:generate|create|make|build|plot|draw|compute|calculate)\b.{0,30}"
    r"\b(?:csv|spreadsheet|excel|xlsx|chart|graph|plot|python script)\b",
    re.IGNORECASE,
)


def is_code_request(text: str) -> bool:
    return bool(CODE_REQUEST.search(text or ""))
