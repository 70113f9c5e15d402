"""Writes the inbound-mail corpus: `python tests/activities/mail_corpus/make_corpus.py`.

Each message is shaped like mail seen in the wild (Gmail, Outlook, Thunderbird, mobile clients,
MTAs' bounces, autoresponders, newsletters, broken senders). The expectations live in
tests/activities/test_mail_parsing.py, next to the table that reads these files.
"""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

HERE = Path(__file__).parent
FROM = "Amina Benali <amina@atlas.dz>"
TO = "support@cloudmanager.localhost"
DATE = "Mon, 02 Feb 2026 09:15:00 +0100"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def head(subject: str | None = "Serveur en panne", message_id: str | None = "auto", **extra) -> str:
    lines = []
    if "from_" in extra:
        value = extra.pop("from_")
        if value is not None:
            lines.append(f"From: {value}")
    else:
        lines.append(f"From: {FROM}")
    lines.append(f"To: {TO}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    date = extra.pop("date", DATE)
    if date is not None:
        lines.append(f"Date: {date}")
    if message_id == "auto":
        message_id = f"<{len(MESSAGES) + 1:03d}.corpus@mail.atlas.dz>"
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    lines.append("MIME-Version: 1.0")
    for name, value in extra.items():
        lines.append(f"{name.replace('_', '-')}: {value}")
    return "\n".join(lines) + "\n"


def plain(body: str, charset: str = "utf-8", encoding: str = "8bit") -> str:
    if encoding == "base64":
        payload = b64(body.encode(charset))
    elif encoding == "quoted-printable":
        payload = qp(body, charset)
    else:
        payload = body
    return (
        f"Content-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {encoding}\n\n{payload}\n"
    )


MESSAGES: dict[str, bytes] = {}


def add(name: str, text: str, *, raw_encoding: str = "utf-8") -> None:
    MESSAGES[name] = text.encode(raw_encoding)


def build() -> None:
    add(
        "01_plain_utf8_french",
        head() + plain("Bonjour,\n\nLe serveur ne répond plus depuis ce matin.\n\nAmina"),
    )
    add(
        "02_plain_latin1_qp",
        head("Facture")
        + plain("Problème de facturation après l'été.", "iso-8859-1", "quoted-printable"),
    )
    add(
        "03_plain_windows1252",
        head("Coût") + plain("Coût : 100 €, œuvre", "windows-1252", "quoted-printable"),
    )
    subject_ar = base64.b64encode("الخادم لا يعمل".encode()).decode()
    add(
        "04_subject_base64_arabic",
        head(f"=?UTF-8?B?{subject_ar}?=") + plain("مرحبا، الخادم لا يعمل منذ الصباح."),
    )
    add(
        "05_subject_q_latin1", head("=?ISO-8859-1?Q?Probl=E8me_r=E9seau?=") + plain("Réseau coupé.")
    )
    add(
        "06_arabic_body_base64",
        head("Arabic") + plain("مرحبا،\nالفاتورة رقم 42 غير صحيحة.", "utf-8", "base64"),
    )
    add("07_arabic_windows1256", head("Arabic 1256") + plain("شكرا لكم", "windows-1256", "base64"))
    add(
        "08_french_and_arabic",
        head("Bilingue") + plain("Bonjour / مرحبا\nLe VPS est arrêté — الخادم متوقف"),
    )
    add(
        "09_alternative_text_and_html",
        head("Alternative")
        + 'Content-Type: multipart/alternative; boundary="alt"\n\n'
        + "--alt\n"
        + plain("Texte brut : le disque est plein.")
        + "--alt\nContent-Type: text/html; charset=utf-8\n\n"
        + "<p>Texte <b>HTML</b> : le disque est plein.</p><script>alert(1)</script>"
        + '<a href="javascript:alert(2)" onclick="x()">lien</a>\n'
        + "--alt--\n",
    )
    add(
        "10_html_only",
        head("HTML only")
        + "Content-Type: text/html; charset=utf-8\n\n"
        + "<html><body><p>Bonjour,</p><p>Le <em>certificat</em> a expiré.<br>Merci</p></body></html>\n",
    )
    add(
        "11_html_only_script_and_style",
        head("HTML styled")
        + "Content-Type: text/html; charset=utf-8\n\n"
        + "<html><head><style>p{color:red}</style><title>T</title></head><body>"
        + "<p>Visible text</p><script>var hidden = 1;</script></body></html>\n",
    )
    add(
        "12_inline_image_related",
        head("Capture")
        + 'Content-Type: multipart/alternative; boundary="alt"\n\n'
        + "--alt\n"
        + plain("Voici la capture.")
        + '--alt\nContent-Type: multipart/related; boundary="rel"\n\n'
        + "--rel\nContent-Type: text/html; charset=utf-8\n\n"
        + '<p>Voici la capture.</p><img src="cid:capture@atlas">\n'
        + "--rel\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n"
        + "Content-ID: <capture@atlas>\nContent-Disposition: inline\n\n"
        + b64(PNG)
        + "--rel--\n--alt--\n",
    )
    add(
        "13_pdf_attachment",
        head("Facture jointe")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + "--mix\n"
        + plain("Voir la facture jointe.")
        + '--mix\nContent-Type: application/pdf; name="facture.pdf"\n'
        + 'Content-Disposition: attachment; filename="facture.pdf"\n'
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(PDF)
        + "--mix--\n",
    )
    add(
        "14_rfc2231_filename",
        head("Nom encodé")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + "--mix\n"
        + plain("Pièce jointe.")
        + "--mix\nContent-Type: application/pdf\n"
        + "Content-Disposition: attachment; filename*=UTF-8''facture%20%C3%A9t%C3%A9.pdf\n"
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(PDF)
        + "--mix--\n",
    )
    arabic_name = base64.b64encode("فاتورة.pdf".encode()).decode()
    add(
        "15_encoded_word_filename",
        head("Nom arabe")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + "--mix\n"
        + plain("مرفق")
        + f'--mix\nContent-Type: application/pdf; name="=?UTF-8?B?{arabic_name}?="\n'
        + f'Content-Disposition: attachment; filename="=?UTF-8?B?{arabic_name}?="\n'
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(PDF)
        + "--mix--\n",
    )
    add(
        "16_attachment_without_name",
        head("Sans nom")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + "--mix\n"
        + plain("Fichier sans nom.")
        + "--mix\nContent-Type: application/octet-stream\nContent-Disposition: attachment\n"
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(b"\x00\x01binary")
        + "--mix--\n",
    )
    add(
        "17_nested_multiparts",
        head("Imbriqué")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + '--mix\nContent-Type: multipart/alternative; boundary="alt"\n\n'
        + "--alt\n"
        + plain("Corps texte imbriqué.")
        + '--alt\nContent-Type: multipart/related; boundary="rel"\n\n'
        + "--rel\nContent-Type: text/html; charset=utf-8\n\n<p>Corps <i>HTML</i> imbriqué.</p>\n"
        + "--rel\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\n"
        + b64(PNG)
        + "--rel--\n--alt--\n"
        + '--mix\nContent-Type: text/csv; name="usage.csv"\n'
        + 'Content-Disposition: attachment; filename="usage.csv"\n\nday,gb\n1,20\n'
        + "--mix--\n",
    )
    add(
        "18_forwarded_message",
        head("Fwd: Alerte")
        + 'Content-Type: multipart/mixed; boundary="mix"\n\n'
        + "--mix\n"
        + plain("Je transfère l'alerte reçue.")
        + "--mix\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        + "From: monitoring@atlas.dz\nSubject: Alerte disque\nMessage-ID: <inner@atlas.dz>\n\n"
        + "Disque plein à 95 %.\n--mix--\n",
    )
    no_id = head("Sans identifiant", message_id=None) + plain("Message sans Message-ID.")
    add("19_missing_message_id", no_id)
    add(
        "20_missing_message_id_other_delivery",
        "Received: from mx2.cloudmanager.localhost by imap; Mon, 02 Feb 2026 09:16:00 +0100\n"
        "Delivered-To: billing@cloudmanager.localhost\nReturn-Path: <amina@atlas.dz>\n" + no_id,
    )
    add("21_missing_date", head("Sans date", date=None) + plain("Pas de date."))
    add(
        "22_malformed_date",
        head("Date cassée", date="32 Foo 2026 99:99:99 +9999") + plain("Date illisible."),
    )
    add("23_missing_subject", head(None) + plain("Pas de sujet."))
    add("24_missing_from", head("Sans expéditeur", from_=None) + plain("Qui écrit ?"))
    add(
        "25_unknown_charset",
        head("Charset inconnu") + plain("Texte accentué", "x-unknown-charset", "8bit"),
        raw_encoding="utf-8",
    )
    add("26_lying_charset", head("Charset faux") + plain("Déjà vu, ça marche", "us-ascii", "8bit"))
    add(
        "27_gmail_reply_french",
        head(
            "Re: [TCK-2026-000042] Serveur en panne",
            In_Reply_To="<abc@cloudmanager.localhost>",
            References="<root@cloudmanager.localhost> <abc@cloudmanager.localhost>",
        )
        + plain(
            "Merci, ça remarche !\n\nLe lun. 2 févr. 2026 à 10:12, Support <support@cloudmanager.localhost> a écrit :\n"
            "> Bonjour Amina,\n> Nous avons redémarré le serveur.\n"
        ),
    )
    add(
        "28_outlook_reply_english",
        head("RE: Invoice question", In_Reply_To="<def@cloudmanager.localhost>")
        + plain(
            "Thanks, that answers it.\n\n-----Original Message-----\nFrom: Support <support@cloudmanager.localhost>\n"
            "Sent: Monday, February 2, 2026 10:00 AM\nSubject: Invoice question\n\nHello, the invoice is attached.\n"
        ),
    )
    add(
        "29_reply_above_our_marker",
        head("Re: [TCK-2026-000043] VPS")
        + plain(
            "C'est bon pour moi.\n\n##- Répondez au-dessus de cette ligne -##\nBonjour, votre ticket a été mis à jour.\n"
        ),
    )
    add(
        "30_arabic_reply",
        head("رد: الخادم")
        + plain(
            "شكرا، المشكلة حلت.\n\nفي الاثنين، 2 فبراير 2026، كتب الدعم <support@cloudmanager.localhost>:\n> مرحبا\n> أعدنا تشغيل الخادم\n"
        ),
    )
    add(
        "31_auto_submitted_auto_replied",
        head("Absence", Auto_Submitted="auto-replied") + plain("Je suis absente jusqu'au 10."),
    )
    add("32_precedence_bulk", head("Promo", Precedence="bulk") + plain("Offre spéciale."))
    add("33_precedence_junk", head("Junk", Precedence="junk") + plain("Junk."))
    add("34_x_autoreply", head("Auto", X_Autoreply="yes") + plain("Réponse automatique."))
    add("35_x_autorespond", head("Auto", X_Autorespond="Out of office") + plain("Out of office."))
    add(
        "36_exchange_out_of_office",
        head("Automatic reply: Serveur", X_Auto_Response_Suppress="All")
        + plain("I am out of the office."),
    )
    add(
        "37_newsletter_list_unsubscribe",
        head("Newsletter", List_Unsubscribe="<mailto:unsub@news.example>")
        + plain("Nos nouveautés."),
    )
    add(
        "38_empty_return_path",
        "Return-Path: <>\n" + head("Notification") + plain("Notification système."),
    )
    add("39_x_loop", head("Loop", X_Loop="support@cloudmanager.localhost") + plain("Boucle."))
    add(
        "40_auto_submitted_no",
        head("Normal", Auto_Submitted="no") + plain("Message écrit par une personne."),
    )
    add(
        "41_dsn_permanent_with_original",
        head(
            "Undelivered Mail Returned to Sender",
            from_="MAILER-DAEMON@mx.atlas.dz (Mail Delivery System)",
            message_id="<dsn-1@mx.atlas.dz>",
        )
        + 'Content-Type: multipart/report; report-type=delivery-status; boundary="rep"\n\n'
        + "--rep\n"
        + plain("I'm sorry to have to inform you that your message could not be delivered.")
        + "--rep\nContent-Type: message/delivery-status\n\n"
        + "Reporting-MTA: dns; mx.atlas.dz\n\nFinal-Recipient: rfc822; nobody@atlas.dz\nAction: failed\n"
        + "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        + "--rep\nContent-Type: message/rfc822\n\n"
        + "From: support@cloudmanager.localhost\nTo: nobody@atlas.dz\nSubject: [TCK-2026-000044] Votre ticket\n"
        + "Message-ID: <tck.original-1@cloudmanager.localhost>\n\nBonjour\n--rep--\n",
    )
    add(
        "42_dsn_temporary_headers_only",
        head("Delivery delayed", from_="postmaster@mx.atlas.dz", message_id="<dsn-2@mx.atlas.dz>")
        + 'Content-Type: multipart/report; report-type=delivery-status; boundary="rep"\n\n'
        + "--rep\n"
        + plain("Delivery to the following recipient has been delayed.")
        + "--rep\nContent-Type: message/delivery-status\n\n"
        + "Reporting-MTA: dns; mx.atlas.dz\n\nFinal-Recipient: rfc822; slow@atlas.dz\nAction: delayed\n"
        + "Status: 4.2.2\n\n"
        + "--rep\nContent-Type: text/rfc822-headers\n\n"
        + "From: support@cloudmanager.localhost\nMessage-ID: <tck.original-2@cloudmanager.localhost>\n"
        + "Subject: Ticket\n--rep--\n",
    )
    add(
        "43_mailer_daemon_free_form",
        head(
            "failure notice",
            from_="MAILER-DAEMON@legacy.example",
            message_id="<qmail-1@legacy.example>",
        )
        + plain(
            "Hi. This is the qmail-send program.\n<gone@legacy.example>:\n550 5.7.1 mailbox disabled\n\n"
            "--- Below this line is a copy of the message.\n\nMessage-ID: <tck.original-3@cloudmanager.localhost>\n"
            "Subject: Ticket\n"
        ),
    )
    add(
        "44_spam_flag",
        head("Gagnez", X_Spam_Flag="YES", X_Spam_Score="12.5") + plain("Vous avez gagné."),
    )
    add(
        "45_blocklisted_domain",
        head("Offre", from_="Vendeur <sales@spam.example>") + plain("Achetez."),
    )
    add("46_very_long_subject", head("Sujet " + "très long " * 40) + plain("Sujet tronqué."))
    add(
        "47_folded_headers_many_recipients",
        head("Sujet plié\n sur deux lignes", Cc="Yacine <yacine@atlas.dz>,\n karim@atlas.dz")
        + plain("Plusieurs destinataires."),
    )
    MESSAGES["48_crlf_line_endings"] = (
        (head("CRLF") + plain("Fin de ligne Windows.\nDeuxième ligne."))
        .replace("\n", "\r\n")
        .encode()
    )
    add(
        "49_html_quoted_printable",
        head("QP HTML")
        + "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        + qp("<p>Une ligne très longue " + "répétée " * 20 + "fin.</p>"),
    )
    add(
        "50_no_charset_declared",
        head("Sans charset") + "Content-Type: text/plain\n\nPlain ASCII body.\n",
    )


def main() -> None:
    build()
    for old in HERE.glob("*.eml"):
        old.unlink()
    for name, data in MESSAGES.items():
        (HERE / f"{name}.eml").write_bytes(data)
    print(f"wrote {len(MESSAGES)} messages to {HERE}")


if __name__ == "__main__":
    main()
