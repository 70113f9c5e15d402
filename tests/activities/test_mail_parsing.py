"""Inbound mail parsing and classification, as tables over the corpus in `mail_corpus/` (written
by its `make_corpus.py`): charsets, encoded words, nested multiparts, HTML-only mail, inline
images, attachments with encoded names, missing and malformed headers, quoted replies in French,
English and Arabic, autoresponders, bounces and spam."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from activities.mail_classification import classify
from activities.mail_parsing import SYNTHETIC_DOMAIN, ParsedMail, parse_mail

CORPUS = Path(__file__).parent / "mail_corpus"
BLOCKLIST = ["@spam.example", "someone@else.example"]


def mail(name: str) -> ParsedMail:
    return parse_mail((CORPUS / f"{name}.eml").read_bytes())


def test_the_corpus_has_at_least_forty_messages():
    assert len(list(CORPUS.glob("*.eml"))) >= 40


def test_every_message_of_the_corpus_parses_without_error():
    for path in sorted(CORPUS.glob("*.eml")):
        parsed = parse_mail(path.read_bytes())
        assert parsed.message_id.startswith("<"), path.name


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("01_plain_utf8_french", "Serveur en panne"),
        ("04_subject_base64_arabic", "الخادم لا يعمل"),
        ("05_subject_q_latin1", "Problème réseau"),
        ("23_missing_subject", ""),
        ("30_arabic_reply", "رد: الخادم"),
        ("47_folded_headers_many_recipients", "Sujet plié sur deux lignes"),
    ],
)
def test_subjects_are_decoded_to_one_line(name, subject):
    assert mail(name).subject == subject


def test_a_subject_is_cut_to_the_ticket_subject_length():
    assert len(mail("46_very_long_subject").subject) == 200


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("01_plain_utf8_french", "Le serveur ne répond plus depuis ce matin."),
        ("02_plain_latin1_qp", "Problème de facturation après l'été."),
        ("03_plain_windows1252", "Coût : 100 €, œuvre"),
        ("06_arabic_body_base64", "الفاتورة رقم 42 غير صحيحة."),
        ("07_arabic_windows1256", "شكرا لكم"),
        ("08_french_and_arabic", "Le VPS est arrêté — الخادم متوقف"),
        ("09_alternative_text_and_html", "Texte brut : le disque est plein."),
        ("17_nested_multiparts", "Corps texte imbriqué."),
        ("25_unknown_charset", "Texte accentué"),
        ("26_lying_charset", "Déjà vu, ça marche"),
        ("48_crlf_line_endings", "Fin de ligne Windows.\nDeuxième ligne."),
        ("50_no_charset_declared", "Plain ASCII body."),
    ],
)
def test_text_bodies_keep_every_language_whatever_the_charset(name, text):
    assert text in mail(name).text


@pytest.mark.parametrize(
    ("name", "text", "hidden"),
    [
        ("10_html_only", "Bonjour,\n\nLe certificat a expiré.\nMerci", "<"),
        ("11_html_only_script_and_style", "Visible text", "hidden"),
        ("49_html_quoted_printable", "Une ligne très longue répétée", "="),
    ],
)
def test_html_only_mail_gets_a_readable_text(name, text, hidden):
    parsed = mail(name)
    assert text in parsed.text
    assert hidden not in parsed.text


@pytest.mark.parametrize(
    ("name", "kept", "removed"),
    [
        ("09_alternative_text_and_html", "<b>HTML</b>", ("<script", "javascript:", "onclick")),
        (
            "11_html_only_script_and_style",
            "<p>Visible text</p>",
            ("<style", "var hidden", "<title"),
        ),
        ("12_inline_image_related", "Voici la capture.", ("cid:",)),
    ],
)
def test_html_is_sanitised_and_kept_beside_the_text(name, kept, removed):
    html = mail(name).html
    assert kept in html
    for dangerous in removed:
        assert dangerous not in html


def test_a_text_only_mail_has_no_html():
    assert mail("01_plain_utf8_french").html == ""


@pytest.mark.parametrize(
    ("name", "files"),
    [
        ("13_pdf_attachment", [("facture.pdf", "application/pdf", False)]),
        ("14_rfc2231_filename", [("facture été.pdf", "application/pdf", False)]),
        ("15_encoded_word_filename", [("فاتورة.pdf", "application/pdf", False)]),
        ("16_attachment_without_name", [("attachment-1.bin", "application/octet-stream", False)]),
        ("12_inline_image_related", [("attachment-1.png", "image/png", True)]),
        (
            "17_nested_multiparts",
            [("attachment-1.png", "image/png", True), ("usage.csv", "text/csv", False)],
        ),
        ("18_forwarded_message", [("attachment-1.eml", "message/rfc822", False)]),
        ("01_plain_utf8_french", []),
        ("09_alternative_text_and_html", []),
    ],
)
def test_attachments_and_inline_images_come_out_with_their_names(name, files):
    found = [(f.filename, f.content_type, f.inline) for f in mail(name).files]
    assert found == files


def test_an_attached_message_stays_a_file_and_does_not_join_the_body():
    parsed = mail("18_forwarded_message")
    assert "Disque plein" not in parsed.text
    assert b"Disque plein" in parsed.files[0].data


def test_an_inline_image_keeps_its_content_id():
    assert mail("12_inline_image_related").files[0].content_id == "capture@atlas"


@pytest.mark.parametrize(
    ("name", "reply", "quoted"),
    [
        ("27_gmail_reply_french", "Merci, ça remarche !", "Nous avons redémarré"),
        ("28_outlook_reply_english", "Thanks, that answers it.", "the invoice is attached"),
        ("29_reply_above_our_marker", "C'est bon pour moi.", "mis à jour"),
        ("30_arabic_reply", "شكرا، المشكلة حلت.", "أعدنا تشغيل"),
    ],
)
def test_quoted_history_is_stripped_for_display_and_kept_in_full(name, reply, quoted):
    parsed = mail(name)
    assert parsed.reply == reply
    assert quoted in parsed.text


def test_threading_ids_come_nearest_first():
    parsed = mail("27_gmail_reply_french")
    assert parsed.thread_ids == ["<abc@cloudmanager.localhost>", "<root@cloudmanager.localhost>"]


def test_sender_and_recipients_are_lower_case_addresses():
    parsed = mail("47_folded_headers_many_recipients")
    assert (parsed.from_name, parsed.from_address) == ("Amina Benali", "amina@atlas.dz")
    assert parsed.to_addresses == [
        "support@cloudmanager.localhost", "yacine@atlas.dz", "karim@atlas.dz",
    ]  # fmt: skip


def test_a_mail_without_sender_has_an_empty_address():
    assert mail("24_missing_from").from_address == ""


@pytest.mark.parametrize(
    ("name", "sent_at"),
    [
        ("01_plain_utf8_french", datetime(2026, 2, 2, 8, 15, tzinfo=UTC)),
        ("21_missing_date", None),
        ("22_malformed_date", None),
    ],
)
def test_dates_are_read_when_they_can_be(name, sent_at):
    assert mail(name).sent_at == sent_at


def test_a_date_keeps_its_offset():
    assert mail("01_plain_utf8_french").sent_at.utcoffset() == timezone(
        timedelta(hours=1)
    ).utcoffset(None)


def test_a_missing_message_id_is_replaced_by_a_hash_of_the_message():
    parsed = mail("19_missing_message_id")
    assert parsed.synthetic_id
    assert parsed.message_id.endswith(f"@{SYNTHETIC_DOMAIN}>")


def test_the_same_mail_delivered_twice_gets_the_same_synthetic_id():
    first, second = mail("19_missing_message_id"), mail("20_missing_message_id_other_delivery")
    assert first.raw_sha256 != second.raw_sha256
    assert first.message_id == second.message_id


def test_different_mails_without_message_id_get_different_ids():
    other = (CORPUS / "19_missing_message_id.eml").read_bytes().replace(b"sans", b"avec")
    assert parse_mail(other).message_id != mail("19_missing_message_id").message_id


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("01_plain_utf8_french", "normal"),
        ("27_gmail_reply_french", "normal"),
        ("40_auto_submitted_no", "normal"),
        ("31_auto_submitted_auto_replied", "auto_reply"),
        ("32_precedence_bulk", "auto_reply"),
        ("33_precedence_junk", "auto_reply"),
        ("34_x_autoreply", "auto_reply"),
        ("35_x_autorespond", "auto_reply"),
        ("36_exchange_out_of_office", "auto_reply"),
        ("37_newsletter_list_unsubscribe", "auto_reply"),
        ("38_empty_return_path", "auto_reply"),
        ("39_x_loop", "auto_reply"),
        ("41_dsn_permanent_with_original", "bounce"),
        ("42_dsn_temporary_headers_only", "bounce"),
        ("43_mailer_daemon_free_form", "bounce"),
        ("44_spam_flag", "spam"),
        ("45_blocklisted_domain", "spam"),
    ],
)
def test_each_mail_is_classified_before_anything_is_done_with_it(name, kind):
    assert classify(mail(name), BLOCKLIST).kind == kind


def test_the_blocklist_matches_whole_addresses_and_domains_only():
    assert classify(mail("01_plain_utf8_french"), ["@atlas.dz"]).kind == "spam"
    assert classify(mail("01_plain_utf8_french"), ["amina@atlas.dz"]).kind == "spam"
    assert classify(mail("01_plain_utf8_french"), ["@tlas.dz", "mina@atlas.dz"]).kind == "normal"


@pytest.mark.parametrize(
    ("name", "original", "recipient", "status", "permanent"),
    [
        ("41_dsn_permanent_with_original", "<tck.original-1@cloudmanager.localhost>",
         "nobody@atlas.dz", "5.1.1", True),
        ("42_dsn_temporary_headers_only", "<tck.original-2@cloudmanager.localhost>",
         "slow@atlas.dz", "4.2.2", False),
        ("43_mailer_daemon_free_form", "<tck.original-3@cloudmanager.localhost>", "", "5.7.1",
         True),
    ],
)  # fmt: skip
def test_a_bounce_names_the_mail_that_failed_and_how(name, original, recipient, status, permanent):
    bounce = classify(mail(name)).bounce
    assert (bounce.original_message_id, bounce.recipient, bounce.status) == (
        original, recipient, status,
    )  # fmt: skip
    assert bounce.permanent is permanent
