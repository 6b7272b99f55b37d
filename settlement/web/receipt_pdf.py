"""A receipt as a PDF (fpdf2, pure Python): the same lines as the printable page.

The PDF uses the viewer's built-in Helvetica in the Windows-1252 encoding, so nothing is
embedded and the file stays a few kilobytes; that encoding has €, £, • and the French
letters. The few characters the pages use beyond it get their nearest equivalent (a
true minus becomes a hyphen, a narrow no-break space a no-break space), and anything else
a stop name might hold is spelt without its accents or replaced by "?", never an error.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from fastapi import Response
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from settlement.web import i18n

ENCODING = "windows-1252"
SUBSTITUTES = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u202f": "\u00a0",  # narrow no-break space (French thousands)
        "\u2192": "\u203a",  # right arrow: a single right-pointing angle quote
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
    }
)
MARGIN_MM = 15
# Time, journey, operator, explanation, amount: the 180 mm between A4's margins.
COLUMNS_MM = (16, 48, 32, 62, 22)


def pdf_text(text: str) -> str:
    """`text` with every character the PDF's font encoding can show."""
    out = []
    for char in text.translate(SUBSTITUTES):
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
            out.append(plain or "?")
    return "".join(out)


class _Receipt(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
        self._footer_text = footer_text
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=MARGIN_MM)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(90)
        self.cell(0, 5, pdf_text(f"{self._footer_text} · {self.page_no()}/{{nb}}"), align="C")


def response(
    receipt: dict[str, Any], t: i18n.Words, *, charge_id: int, disposition: str
) -> Response:
    """The PDF as an HTTP answer: never cached (it names a person's journeys), never
    sniffed as anything but a PDF. `disposition`: "inline" or "attachment"."""
    return Response(
        render(receipt, t),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="receipt-{charge_id}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def render(receipt: dict[str, Any], t: i18n.Words) -> bytes:
    charge = receipt["charge"]
    currency = charge["currency"]
    zone = receipt["zone"]
    title = f"{t('receipt_title')} {t('receipt_no')} {charge['charge_id']}"
    pdf = _Receipt(footer_text=title)
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(receipt["issuer"]))
    pdf.set_lang(t.lang)
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, pdf_text(t("receipt_title")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(70)
    pdf.multi_cell(0, 5, pdf_text(f"{t('issued_by')} — {receipt['issuer']}"))
    pdf.set_text_color(0)
    pdf.ln(3)

    card = charge["card"]
    facts = [
        (t("receipt_no"), str(charge["charge_id"])),
        (t("service_day"), t.day(charge["service_day"])),
        (t("kind"), t.kind(charge["kind"])),
        (t("card"), f"{card['scheme'].capitalize()} •••• {card['last4']}"),
        (t("status"), t.status(charge["status"])),
    ]
    if charge["charged_at"]:
        facts.append((t("charged_on"), t.moment(charge["charged_at"], zone)))
    facts.append((t("operators"), ", ".join(receipt["operators"])))
    for label, value in facts:
        pdf.set_font("Helvetica", style="B", size=10)
        pdf.cell(45, 6, pdf_text(label))
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 6, pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    for journey in receipt["journeys"]:
        _lines(pdf, journey, t, currency, zone)
        pdf.ln(3)

    pdf.set_font("Helvetica", style="B", size=13)
    total = f"{t('total')}  {t.money(charge['amount_minor'], currency)}"
    pdf.cell(0, 8, pdf_text(total), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if receipt["refunds"]:
        _refunds(pdf, receipt, t, currency, zone)
    if charge["notes"]:
        pdf.ln(2)
        pdf.set_font("Helvetica", size=9)
        for note in charge["notes"]:
            pdf.multi_cell(0, 5, pdf_text(f"• {note}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _lines(pdf: FPDF, journey: dict[str, Any], t: i18n.Words, currency: str, zone: Any) -> None:
    pdf.set_font("Helvetica", size=9)
    headings = (t("time"), t("leg"), t("operator"), t("why"), t("amount"))
    aligns = (Align.L, Align.L, Align.L, Align.L, Align.R)
    with pdf.table(
        col_widths=COLUMNS_MM,
        text_align=aligns,
        line_height=4.5,
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        table.row([pdf_text(h) for h in headings])
        for leg in journey["legs"]:
            table.row(
                [
                    pdf_text(t.clock(leg["started_at"], zone)),
                    pdf_text(leg["label"]),
                    pdf_text(leg["operator"]),
                    pdf_text(leg["explanation"]),
                    pdf_text(t.money(leg["amount_minor"], currency)),
                ]
            )
        for adjustment in journey["adjustments"]:
            table.row(
                [
                    "",
                    pdf_text(f"{t('adjustment')} ({t.kind(adjustment['kind'])})"),
                    "",
                    pdf_text(adjustment["explanation"]),
                    pdf_text(t.money(adjustment["amount_minor"], currency)),
                ]
            )
        table.row(
            [
                "",
                pdf_text(t("day_total")),
                "",
                "",
                pdf_text(t.money(journey["total_minor"], currency)),
            ]
        )


def _refunds(pdf: FPDF, receipt: dict[str, Any], t: i18n.Words, currency: str, zone: Any) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 7, pdf_text(t("refunds")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    for refund in receipt["refunds"]:
        when: datetime = refund["created_at"]
        line = (
            f"{t.moment(when, zone)} · {t.status(refund['status'])} · "
            f"{t.money(-refund['amount_minor'], currency)}"
        )
        pdf.cell(0, 6, pdf_text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", style="B", size=11)
    net = receipt["charge"]["amount_minor"] - receipt["refunded_minor"]
    pdf.cell(
        0,
        7,
        pdf_text(f"{t('net_paid')}  {t.money(net, currency)}"),
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
