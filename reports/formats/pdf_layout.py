"""The PDF's look: fonts, colours, paragraph styles, tables and number formatting (reportlab).

Text uses DejaVu Sans, shipped with matplotlib, so any name prints (the PDF core fonts stop at Latin-1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, Table, TableStyle

GRID = colors.HexColor("#c8d0da")
HEADER_BG = colors.HexColor("#eef2f7")
ACCENT = colors.HexColor("#1f5fa8")
MUTED = colors.HexColor("#5a6270")
FRAME_PADDING = 6


def _register_fonts() -> tuple[str, str]:
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    if "JegSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("JegSans", str(regular)))
        pdfmetrics.registerFont(TTFont("JegSans-Bold", str(bold)))
    return "JegSans", "JegSans-Bold"


FONT, FONT_BOLD = _register_fonts()


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle(
            "title",
            parent=base["Title"],
            fontName=FONT_BOLD,
            fontSize=22,
            leading=26,
            alignment=0,
            textColor=ACCENT,
            spaceAfter=4,
        ),
        "h1": ParagraphStyle(
            "h1", parent=base["Heading1"], fontName=FONT_BOLD, fontSize=17, leading=21, textColor=ACCENT, spaceAfter=2
        ),
        "h2": ParagraphStyle(
            "h2", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3
        ),
        "body": body,
        "muted": ParagraphStyle("muted", parent=body, fontSize=8.5, leading=11, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
        "cell_bold": ParagraphStyle("cell_bold", parent=body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5),
    }


STYLES = _styles()


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return f"{text} {unit}".rstrip()


def signed(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + number(value, unit)


def para(text: str, style: str = "body") -> Paragraph:
    return Paragraph(text, STYLES[style])


def table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    cells = [
        [
            cell if not isinstance(cell, str) else para(escape(cell), "cell_bold" if header and i == 0 else "cell")
            for cell in row
        ]
        for i, row in enumerate(rows)
    ]
    table = Table(cells, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_BG))
    table.setStyle(TableStyle(style))
    return table
