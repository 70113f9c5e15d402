"""Files for attachment tests (small but real: a PNG and a PDF that viewers open, Office files
as their writers lay them out) and tickets with attached files written straight to the database."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from datetime import UTC, datetime

from starlette.datastructures import Headers, UploadFile

from api.attachments import read_uploads, store
from db.models import Ticket, TicketAttachment, TicketMessage


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x40\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf(text: str = "Hello PDF") -> bytes:
    stream = f"BT /F1 24 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def zip_of(*names: str, mimetype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype:  # OpenDocument: first entry, stored uncompressed
            archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        for name in names:
            archive.writestr(name, f"<x>{name}</x>")
    return buffer.getvalue()


def docx() -> bytes:
    return zip_of("[Content_Types].xml", "_rels/.rels", "word/document.xml")


def upload(filename: str, data: bytes, content_type: str = "application/octet-stream"):
    """What Starlette hands a route for one file part (the browser's Content-Type is ignored)."""
    return UploadFile(
        io.BytesIO(data),
        size=len(data),
        filename=filename,
        headers=Headers({"content-type": content_type}),
    )


async def ticket_with_files(
    sessionmaker, settings, customer_id: uuid.UUID, files: list[tuple[str, bytes]], *,
    internal: bool = False,
) -> list[TicketAttachment]:  # fmt: skip
    """A ticket of that company with one message (a reply, or an internal note) carrying
    `files`, stored for real through `read_uploads` and `store`."""
    stored = await store(settings, await read_uploads(settings, [upload(*f) for f in files]))
    ticket_id, message_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with sessionmaker() as db, db.begin():
        db.add(
            Ticket(
                id=ticket_id, number=f"TST-{uuid.uuid4().hex[:12]}", subject="Attachments",
                customer_id=customer_id, channel="portal", priority="medium", status="open",
            )
        )  # fmt: skip
        await db.flush()
        db.add(
            TicketMessage(
                id=message_id, ticket_id=ticket_id, author_name="Test", internal=internal,
                author_kind="agent" if internal else "customer", body="See attached.",
                channel="staff" if internal else "portal", created_at=now,
            )
        )  # fmt: skip
        await db.flush()
        rows = [
            TicketAttachment(
                id=uuid.UUID(item.id), ticket_id=ticket_id, message_id=message_id,
                sha256=item.sha256, filename=item.filename, content_type=item.content_type,
                size=item.size,
            )
            for item in stored
        ]  # fmt: skip
        db.add_all(rows)
    return rows
