"""The parser and the loop predicate on the corpus (tests/mail/): no database, no settings."""

import pytest

from mail import addresses, loops
from mail.parsing import decode_text, parse, strip_reply
from tests.mail_corpus import SUPPORT, load

OWN = {SUPPORT}


@pytest.fixture(autouse=True)
def _support_address(settings):
    settings.MAIL_SUPPORT_ADDRESS = SUPPORT


@pytest.mark.parametrize(
    "name, reply, dropped",
    [
        ("gmail_reply.eml", "Yes please, send the replacement to the same address.", "Shall we send"),
        ("outlook_reply.eml", "The parcel arrived this morning, thank you. You can close the ticket.", "Kind regards"),
        (
            "apple_mail_reply.eml",
            "Still nothing here, the tracking page says “delivered” but it is not.",
            "Sent from my iPhone",
        ),
    ],
)
def test_quoted_history_and_signatures_are_stripped_from_replies_and_kept_in_the_full_text(name, reply, dropped):
    mail = parse(load(name))
    assert mail.reply == reply
    assert dropped in mail.text and dropped not in mail.reply


def test_german_quote_headers_are_stripped_too():
    text = (
        "Danke, alles klar.\n\nAm Di., 1. Dez. 2026 um 10:00 Uhr schrieb Parcelly Help <support@parcelly.test>:\n"
        "> Hallo"
    )
    assert strip_reply(text) == "Danke, alles klar."
    outlook_de = "Passt.\n\nVon: Parcelly Help <support@parcelly.test>\nGesendet: Dienstag, 1. Dezember 2026 10:00\n"
    assert strip_reply(outlook_de + "An: x\nBetreff: y\n\nHallo") == "Passt."


def test_the_html_alternative_of_a_gmail_reply_is_not_what_we_read():
    mail = parse(load("gmail_reply.eml"))
    assert not mail.html_only and "gmail_quote" not in mail.text


def test_html_only_mail_is_converted_to_text_and_its_scripts_dropped():
    mail = parse(load("html_only.eml"))
    assert mail.html_only
    assert "I ordered a blue jacket (order 5521) and got a red one." in mail.text
    for leftover in ("<", "alert(", "color: red", "steal", "pixel.gif"):
        assert leftover not in mail.text


def test_html_only_quotes_are_dropped_before_conversion():
    raw = (
        b"From: a@b.test\r\nTo: support@parcelly.test\r\nSubject: Re: x\r\nMessage-ID: <h@b.test>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<div>New answer.</div><div class='gmail_quote'>On Mon someone wrote:<blockquote>old text</blockquote></div>"
    )
    mail = parse(raw)
    assert mail.reply == "New answer." and "old text" in mail.text


def test_latin_1_and_its_windows_1252_cousin_decode_correctly():
    mail = parse(load("iso_8859_1.eml"))
    assert mail.subject == "Paket nicht erhalten – Erstattung"  # an en dash (0x96) labelled Latin-1
    assert "12,50 € bezahlt" in mail.text and "Grüße\nJürgen Müller" in mail.text


def test_shift_jis_body_and_iso_2022_jp_subject_decode():
    mail = parse(load("shift_jis.eml"))
    assert mail.subject == "荷物が届きません"
    assert mail.from_name == "山田" and "追跡番号は PX-9001 です" in mail.reply


def test_charset_labels_that_lie_or_are_unknown_still_give_text():
    assert decode_text("Grüße".encode(), "us-ascii") == "Grüße"  # UTF-8 sent as us-ascii
    assert decode_text(b"caf\xe9", "x-unknown-charset") == "caf\ufffd"
    assert decode_text(b"\x93quoted\x94", "iso-8859-1") == "“quoted”"


def test_attachments_and_inline_images_are_found_with_their_names():
    mail = parse(load("gmail_new_with_attachments.eml"))
    found = {(a.filename, a.content_type, a.inline) for a in mail.attachments}
    assert found == {("photo.png", "image/png", True), ("invoice-88213.pdf", "application/pdf", False)}
    assert mail.attachments[0].data.startswith(b"\x89PNG")


def test_a_multipart_without_its_boundary_is_recovered():
    mail = parse(load("malformed_mime.eml"))
    assert "NoBoundaryInMultipartDefect" in mail.defects
    assert mail.reply == "Hello, my order 7788 never shipped. Café au lait."
    assert mail.subject.startswith("=?utf-8?b?broken=?=")  # shown as it came, not as mojibake
    assert mail.date is None and mail.message_id == "malformed-0001@broken.test"


def test_a_mail_with_no_structure_at_all_is_one_text_body():
    mail = parse(b"this is not even a mail header\r\n\r\njust text")
    assert mail.from_address == "" and "just text" in mail.text


def test_threading_ids_come_nearest_first():
    mail = parse(load("gmail_reply.eml", IN_REPLY_TO="<c@x>", REFERENCES="<a@x> <b@x> <c@x>"))
    assert mail.thread_ids == ["c@x", "b@x", "a@x"]
    assert parse(load("no_message_id.eml")).message_id == ""


def test_a_dsn_names_the_failed_address_its_status_and_our_original_mail():
    mail = parse(load("dsn_bounce.eml", FAILED="bob@corp.test", ORIGINAL="1.2.T-4.5@parcelly.test"))
    assert mail.bounce.original_message_id == "1.2.T-4.5@parcelly.test"
    [(address, action, status, diagnostic)] = mail.bounce.permanent
    assert (address, action, status) == ("bob@corp.test", "failed", "5.1.1") and "User" in diagnostic
    assert loops.classify(mail, own_addresses=OWN)[0] == loops.BOUNCE


@pytest.mark.parametrize(
    "name, kind",
    [
        ("out_of_office.eml", loops.AUTOMATIC),
        ("mailing_list.eml", loops.AUTOMATIC),
        ("dsn_bounce.eml", loops.BOUNCE),
        ("gmail_reply.eml", ""),
        ("outlook_reply.eml", ""),
        ("apple_mail_reply.eml", ""),
        ("html_only.eml", ""),
        ("no_message_id.eml", ""),
    ],
)
def test_only_automatic_mail_is_classified_automatic(name, kind):
    assert loops.classify(parse(load(name)), own_addresses=OWN)[0] == kind


def test_x_auto_response_suppress_alone_does_not_make_a_mail_automatic():
    raw = b"From: a@b.test\r\nX-Auto-Response-Suppress: All\r\nSubject: hi\r\n\r\nhello"
    assert loops.classify(parse(raw), own_addresses=OWN) == ("", "")


def test_reply_addresses_carry_a_token_that_cannot_be_guessed(settings):
    class T:
        pk, reference = 42, "T-42"

    address = addresses.reply_address(T)
    assert address.startswith("support+T-42.") and address.endswith("@parcelly.test")
    assert addresses.ticket_id_from_addresses(["x@y.test", address.upper()]) == 42
    assert addresses.ticket_id_from_addresses([address.replace("T-42", "T-43")]) is None
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert addresses.ticket_id_from_addresses([address]) is None


def test_our_message_ids_are_recognised_by_their_shape():
    class T:
        pk, reference = 7, "T-7"

    ours = addresses.new_message_id(T, 99)
    assert addresses.is_own_message_id(ours)
    assert not addresses.is_own_message_id("CAF123@mail.gmail.test")
    assert not addresses.is_own_message_id("random@parcelly.test")


def test_our_message_id_header_fits_one_line_however_large_the_ids():
    class T:
        pk, reference = 987_654_321, "T-987654321"

    ours = addresses.new_message_id(T, 9_876_543_210)
    assert len(f"Message-ID: <{ours}>") <= 78  # RFC 5322's line length: longer headers get folded
    assert addresses.is_own_message_id(ours) and ours != addresses.new_message_id(T, 9_876_543_210)
