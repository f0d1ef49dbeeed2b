"""The offline assistant answers right or hands off: escalation by meaning, follow-ups, two-part
questions, languages, Markdown, and what it does below its confidence threshold. Each test runs
the real run engine (in-process) on a small knowledge base."""

from __future__ import annotations

import pytest

from assistants.models import Message, Run
from assistants.providers.offline import intents
from tests.factories import CustomerFactory, open_ticket
from tickets import services as desk
from tickets.models import AssistantReply, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def drain(drain, django_capture_on_commit_callbacks):
    """Runs advanced as a worker would, with what they do after commit (the reply_created receivers)."""

    def _drain():
        with django_capture_on_commit_callbacks(execute=True):
            return drain()

    return _drain


def replies(ticket):
    return ticket.thread.messages.filter(role=Message.Role.ASSISTANT, run__isnull=False).order_by("seq")


def tools_called(ticket) -> list[str]:
    return [c["name"] for run in Run.objects.filter(thread=ticket.thread).order_by("pk") for c in run.tool_calls]


def ask(drain, body, ticket=None):
    if ticket is None:
        ticket = open_ticket(subject="Question", body=body)
    else:
        desk.customer_reply(ticket=ticket, customer=ticket.customer, body=body)
    drain()
    ticket.refresh_from_db()
    return ticket, replies(ticket).last()


# --- escalation by meaning --------------------------------------------------------------------

HARD_NEGATIVES = [
    "Can I get a human-readable PDF of my invoice?",
    "The agent app on Android keeps crashing",
    "How do I add my manager as a viewer?",
    "How do I kill a recurring invoice?",
    "Am I protected against fraud if the seller never ships?",
    "How do I change the phone number on my account?",
    "Kann jemand anderes mein Paket abholen?",
]
REQUESTS = [
    "Can I speak to somebody?",
    "Is there a phone number I can call?",
    "I need to talk to your support team",
    "Please call me back tomorrow",
    "I want to make a formal complaint",
    "I'm switching to another carrier after this",
    "My lawyer will be in touch",
    "You are a bunch of useless idiots",
    "Ich möchte mit einem Mitarbeiter sprechen.",
    "Können Sie mich bitte zurückrufen?",
    "Je voudrais parler à quelqu'un, s'il vous plaît.",
    "Avez-vous un numéro de téléphone ?",
    "Quiero hablar con una persona.",
    "¿Me pueden llamar por teléfono?",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_words_that_only_look_like_a_request_for_a_person_do_not_escalate(text):
    assert intents.escalation(text) is None


@pytest.mark.parametrize("text", REQUESTS)
def test_indirect_requests_for_a_person_complaints_and_threats_escalate_in_four_languages(text):
    assert intents.escalation(text) is not None


def test_a_request_for_a_person_goes_through_the_escalation_tool_and_is_answered_in_german(drain, kb):
    ticket, reply = ask(drain, "Ich möchte bitte mit einem Mitarbeiter sprechen.")
    assert tools_called(ticket) == ["escalate_to_human"]
    assert ticket.escalated
    assert reply.body.startswith("Hallo,") and "Support-Team" in reply.body


def test_a_hard_negative_is_answered_from_the_knowledge_base(drain, kb):
    ticket, reply = ask(drain, "How do I kill a recurring invoice for our weekly pickups?")
    assert not ticket.escalated and tools_called(ticket)[0] == "search_knowledge_base"
    assert reply.metadata["citations"][0]["slug"] == "recurring-pickups"


# --- replies a customer would want ----------------------------------------------------------


def test_the_reply_quotes_the_passage_that_answers_with_markdown_stripped(drain, kb):
    ticket, reply = ask(drain, "How many days until a refund is back on my card?")
    assert reply.metadata["outcome"] == "answered"
    assert "within 5 business days" in reply.body  # the second section, not "## Refund policy"
    assert "##" not in reply.body and "**" not in reply.body
    assert reply.body.startswith("Hello,") and reply.body.rstrip().endswith("tell me what you see.")
    assert reply.metadata["citations"][0]["slug"] == "refunds"
    assert reply.metadata["shown_passages"] == [reply.metadata["citations"][0]["passage"]]


def test_of_three_sections_the_one_that_answers_is_quoted(drain, kb):
    ticket, reply = ask(drain, "I cancelled order 5521 last week. When will the refund reach my card?")
    assert "within 5 business days" in reply.body
    assert "We refund the shipping price" not in reply.body and "Cancel label" not in reply.body


def test_a_two_part_question_gets_both_answers(drain, kb):
    ticket, reply = ask(drain, "How long does a refund take to reach my card? Also, how do I reset my password?")
    assert [c["slug"] for c in reply.metadata["citations"]] == ["refunds", "password"]
    assert "5 business days" in reply.body and "Forgot password" in reply.body


def test_a_question_in_german_is_answered_in_german_from_the_german_article(drain, kb):
    customer = CustomerFactory()
    assert customer.customer_profile.language == ""
    ticket = open_ticket(customer=customer, subject="Geld", body="Wie lange dauert die Rückerstattung auf meine Karte?")
    drain()
    ticket.refresh_from_db()
    reply = replies(ticket).get()
    assert reply.metadata["language"] == "de"
    assert reply.body.startswith("Hallo,") and "5 Werktagen" in reply.body
    assert reply.metadata["citations"][0]["slug"] == "rueckerstattungen"
    assert ticket.language_preference == "de"  # filled because it was empty


def test_a_language_preference_already_set_is_kept(drain, kb):
    ticket = open_ticket(subject="Geld", body="Wie lange dauert die Rückerstattung auf meine Karte?")
    Ticket.objects.filter(pk=ticket.pk).update(language_preference="en")
    drain()
    ticket.refresh_from_db()
    assert ticket.language_preference == "en"


# --- follow-ups -------------------------------------------------------------------------------


def test_thanks_that_worked_is_acknowledged_without_a_search_and_yes_closes_the_ticket(drain, kb):
    ticket, _ = ask(drain, "How long does a refund take to reach my card?")
    ticket, reply = ask(drain, "thanks, that worked perfectly!", ticket)
    assert reply.metadata["outcome"] == "acknowledged" and reply.metadata["citations"] == []
    assert "close this ticket" in reply.body
    assert tools_called(ticket) == ["search_knowledge_base"]  # the first turn's only
    ticket, reply = ask(drain, "yes please", ticket)
    assert ticket.status == Ticket.Status.RESOLVED and reply.metadata["outcome"] == "closed"


def test_that_did_not_work_gives_the_next_passage_on_the_same_problem(drain, kb):
    ticket, first = ask(drain, "How do I reset my password?")
    assert "Forgot password" in first.body
    ticket, second = ask(drain, "still broken, no email came", ticket)
    assert second.metadata["outcome"] == "answered"
    assert second.metadata["citations"][0]["slug"] == "password"
    assert "spam folder" in second.body and "Forgot password" not in second.body


def test_that_did_not_work_twice_brings_in_a_person(drain, kb):
    ticket, _ = ask(drain, "How do I reset my password?")
    ticket, _ = ask(drain, "that didn't work", ticket)
    ticket, reply = ask(drain, "still not working", ticket)
    assert ticket.escalated and reply.metadata["outcome"] == "handoff"


def test_a_new_question_after_an_answer_starts_a_new_search(drain, kb):
    ticket, _ = ask(drain, "How long does a refund take to reach my card?")
    ticket, reply = ask(drain, "and can we switch our business plan to yearly billing?", ticket)
    assert reply.metadata["citations"][0]["slug"] == "billing-period"


def test_only_passages_actually_shown_count_as_already_shared(drain, kb, settings):
    settings.HELPDESK_DEFAULT_AI_MODE = "draft"
    ticket, draft = ask(drain, "How long does a refund take to reach my card?")
    assert draft.draft_state == Message.DraftState.DRAFT
    staff = desk.User.objects.create_user(username="s@example.com", is_staff=True)
    desk.draft_discard(message=draft, staff=staff)
    Ticket.objects.filter(pk=ticket.pk).update(ai_mode="auto")
    ticket, reply = ask(drain, "How long does a refund take to reach my card?", ticket)
    assert reply.metadata["citations"][0]["slug"] == "refunds"  # the discarded draft never reached anyone


# --- below the threshold ----------------------------------------------------------------------


def test_below_the_threshold_it_asks_one_question_then_hands_off(drain, kb, settings):
    settings.HELPDESK_LOW_CONFIDENCE = "ask"
    ticket, reply = ask(drain, "do you sell cardboard boxes in your shops?")
    assert reply.metadata["outcome"] == "asked" and reply.metadata["citations"] == []
    assert not ticket.escalated and reply.draft_state == Message.DraftState.PUBLISHED
    ticket, reply = ask(drain, "big ones, for moving house", ticket)
    assert ticket.escalated and reply.metadata["outcome"] == "handoff"
    assert "not sure" in reply.body
    assert AssistantReply.objects.filter(ticket=ticket).values_list("outcome", flat=True).count() == 2


def test_below_the_threshold_with_the_handoff_policy_a_person_takes_over_at_once(drain, kb, settings):
    settings.HELPDESK_LOW_CONFIDENCE = "handoff"
    ticket, reply = ask(drain, "do you sell cardboard boxes in your shops?")
    assert tools_called(ticket) == ["search_knowledge_base", "escalate_to_human"]
    assert ticket.escalated and "not sure" in ticket.escalation_reason
    assert reply.metadata["outcome"] == "handoff" and reply.metadata["candidates"]


def test_below_the_threshold_with_the_draft_policy_the_best_guess_waits_for_staff(drain, kb, settings):
    settings.HELPDESK_LOW_CONFIDENCE = "draft"
    ticket, reply = ask(drain, "do you sell cardboard boxes in your shops?")
    assert reply.draft_state == Message.DraftState.DRAFT
    assert "Not sure of this answer" in reply.metadata["held_reason"]
    assert reply.metadata["outcome"] == "held" and not ticket.escalated


def test_lexical_only_the_assistant_still_answers_and_still_hands_off(drain, without_embeddings, settings):
    from tests.knowledge_base import make_knowledge_base

    make_knowledge_base(index=False)
    settings.HELPDESK_LOW_CONFIDENCE = "handoff"
    ticket, reply = ask(drain, "How long does a refund take to reach my card?")
    assert reply.metadata["mode"] == "lexical" and reply.metadata["outcome"] == "answered"
    ticket, reply = ask(drain, "do you sell cardboard boxes in your shops?")
    assert ticket.escalated


@pytest.mark.parametrize(
    "text",
    [
        "escalate this please, nobody has answered in days",
        "I'll cancel my subscription if this isn't fixed by Friday",
        "Voy a cancelar mi suscripción si nadie me contesta.",
        "Ich kündige, wenn das bis morgen nicht geht.",
    ],
)
def test_an_escalation_request_or_a_conditional_threat_to_cancel_escalates(text):
    assert intents.escalation(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "could somebody from your accounts people get back to me today?",
        "let me speak with whoever is in charge of your support",
        "I'd like to discuss this with a person",
        "Ich möchte das bitte mit einem Mitarbeiter von Ihnen besprechen",
        "Je voudrais discuter avec quelqu'un de votre équipe",
        "Necesito comunicarme con alguien de soporte",
    ],
)
def test_a_person_on_our_side_asked_to_talk_or_come_back_escalates_whatever_the_verb(text):
    assert intents.escalation(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "how can my clients contact me through the portal?",
        "how do I let someone from the marketing team see a project?",
        "can you email me the invoice PDF?",
        "how do I discuss a task with my team in the comments?",
    ],
)
def test_contact_words_about_the_customers_own_people_do_not_escalate(text):
    assert intents.escalation(text) is None


@pytest.mark.parametrize(
    "text",
    ["how do I cancel my subscription?", "¿Cómo cancelo mi suscripción?", "the late fee escalates every week"],
)
def test_asking_how_to_cancel_is_a_question_not_a_threat(text):
    assert intents.escalation(text) is None
