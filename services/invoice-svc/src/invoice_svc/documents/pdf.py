"""The PDF face of a fully-digital (数电) invoice.

An A4 landscape page laid out like the platform's own PDF: title by kind, number and date top
right, buyer and seller side by side, the lines table, 合计, 价税合计 in capitals and figures,
备注 and 开票人. Drawn on reportlab's canvas directly (platypus costs more per page), with the
CJK font embedded as subsets (`fonts.py`). Many or long lines shrink the table's type down to
6 pt; beyond that the lines continue on further pages and the totals close the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from kit.clock import SHANGHAI
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from invoice_svc.documents.fonts import FONT_NAME, register_fonts
from invoice_svc.documents.model import DocumentLine, InvoiceDocument, Party

__all__ = ["render_invoice_pdf"]

PAGE_W, PAGE_H = landscape(A4)
LEFT = 20 * mm
FRAME_W = PAGE_W - 2 * LEFT
FRAME_TOP = PAGE_H - 28 * mm
FRAME_BOTTOM = 16 * mm  # the drawer line sits below the frame
LABEL_W = 8 * mm  # the narrow cells holding 购买方信息 / 销售方信息 / 备注 vertically
PAD = 1.6 * mm
LEADING = 1.3  # line height as a multiple of the type size
ITEM_LEADING = 1.22
ROW_GAP = 1.0  # points between two lines of the table

TEXT_SIZE = 9.0
TITLE_SIZE = 17.0
ITEM_SIZES = (9.0, 8.0, 7.0, 6.5, 6.0)
HEADER_H = 7 * mm
TOTAL_H = 7 * mm
CAPITALS_H = 9 * mm
CAPITALS_LABEL_W = 48 * mm
FIGURES_X = LEFT + 172 * mm  # where （小写） starts
PARTY_MIN_H = 22 * mm
REMARK_MIN_H = 16 * mm

BROWN = Color(0.58, 0.30, 0.16)  # frame and labels, as the platform prints them
TITLE_RED = Color(0.66, 0.16, 0.10)
MARK_RED = Color(0.86, 0.08, 0.08)

#: The lines table: header, width, alignment (L/C/R).
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("项目名称", 66 * mm, "L"), ("规格型号", 34 * mm, "L"), ("单位", 14 * mm, "C"),
    ("数量", 24 * mm, "R"), ("单价", 32 * mm, "R"), ("金额", 33 * mm, "R"),
    ("税率/征收率", 21 * mm, "C"), ("税额", 33 * mm, "R"),
)
assert abs(sum(width for _, width, _ in COLUMNS) - FRAME_W) < 0.5 * mm

# reportlab's TTFont reads glyph data through one shared file position while it builds the
# subsets (in `Canvas.save`), so two documents must not be saved at the same time.
_save_lock = threading.Lock()


# --- text helpers -------------------------------------------------------------------------

def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_NAME, size)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy wrap at any character (CJK has no spaces to break at); explicit newlines kept."""
    lines: list[str] = []
    face = pdfmetrics.getFont(FONT_NAME).face
    widths, default = face.charWidths, face.defaultWidth
    limit = width * 1000 / size
    for paragraph in text.split("\n"):
        if _width(paragraph, size) <= width:
            lines.append(paragraph)
            continue
        start, used = 0, 0.0
        for i, char in enumerate(paragraph):
            w = widths.get(ord(char), default)
            if used + w > limit and i > start:
                lines.append(paragraph[start:i])
                start, used = i, 0.0
            used += w
        lines.append(paragraph[start:])
    return lines


def _fit(text: str, width: float, size: float) -> float:
    """The type size at which one line of `text` fits `width` (never above `size`)."""
    natural = _width(text, size)
    return size if natural <= width else size * width / natural


def _money(fen: int) -> str:
    """`1,060.00`, `-1,000.00`."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _rate(rate: Decimal) -> str:
    return f"{_number(rate * 100)}%"


# --- layout -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Row:
    cells: tuple[list[str], ...]  # wrapped text per column
    height: float


def _row(line: DocumentLine, size: float) -> _Row:
    texts = (line.item_name, line.spec or "", line.unit or "", _number(line.quantity),
             _number(line.unit_price), _money(line.net_fen), _rate(line.tax_rate),
             _money(line.tax_fen))
    cells = tuple(_wrap(text, width - 2 * PAD, size)
                  for text, (_, width, _) in zip(texts, COLUMNS, strict=True))
    return _Row(cells, max(map(len, cells)) * size * ITEM_LEADING + ROW_GAP)


def _party_rows(party: Party, width: float) -> list[tuple[str, str]]:
    """(label, text) rows of one party block; long values continue on rows without label."""
    fields = [("名称：", party.name),
              ("统一社会信用代码/纳税人识别号：", party.taxpayer_id or "")]
    if party.address or party.phone:
        fields.append(("地址、电话：", " ".join(filter(None, (party.address, party.phone)))))
    if party.bank_name or party.bank_account:
        fields.append(("开户行及账号：",
                       " ".join(filter(None, (party.bank_name, party.bank_account)))))
    rows: list[tuple[str, str]] = []
    for label, value in fields:
        wrapped = _wrap(value, width - _width(label, TEXT_SIZE), TEXT_SIZE)
        rows.append((label, wrapped[0]))
        rows.extend(("", more) for more in wrapped[1:])
    return rows


def _paginate(rows: Sequence[_Row], last_capacity: float,
              full_capacity: float) -> list[list[_Row]]:
    """Rows per page. The last page holds what fits above the totals (`last_capacity`, at
    least one row); the rows before it fill pages without totals (`full_capacity`)."""
    split, used = len(rows), 0.0
    while split > 0 and (split == len(rows) or used + rows[split - 1].height <= last_capacity):
        split -= 1
        used += rows[split].height
    pages: list[list[_Row]] = []
    page, used = [], 0.0
    for row in rows[:split]:
        if page and used + row.height > full_capacity:
            pages.append(page)
            page, used = [], 0.0
        page.append(row)
        used += row.height
    if page:
        pages.append(page)
    pages.append(list(rows[split:]))
    return pages


class _Layout:
    """Everything measured before drawing: block heights, the items' type size and pages."""

    def __init__(self, doc: InvoiceDocument) -> None:
        half = FRAME_W / 2 - LABEL_W - 2 * PAD
        self.buyer = _party_rows(doc.buyer, half)
        self.seller = _party_rows(doc.seller, half)
        rows = max(len(self.buyer), len(self.seller))
        self.party_h = max(PARTY_MIN_H, rows * TEXT_SIZE * LEADING + 2 * PAD)
        self.remark = _wrap(doc.face_remark, FRAME_W - LABEL_W - 2 * PAD, TEXT_SIZE)
        self.remark_h = max(REMARK_MIN_H, len(self.remark) * TEXT_SIZE * LEADING + 2 * PAD)
        self.tail_h = TOTAL_H + CAPITALS_H + self.remark_h
        items_space = FRAME_TOP - FRAME_BOTTOM - self.party_h - HEADER_H - 2 * PAD
        capacity = items_space - self.tail_h
        for size in ITEM_SIZES:
            self.rows = [_row(line, size) for line in doc.lines]
            if sum(r.height for r in self.rows) <= capacity:
                break
        self.item_size = size
        self.pages = _paginate(self.rows, capacity, items_space)


# --- drawing ------------------------------------------------------------------------------

def _vertical(c: Canvas, text: str, x: float, top: float, bottom: float, size: float) -> None:
    """`text` one character under the other, centred in the cell [bottom, top] at x."""
    step = min(size * 1.25, (top - bottom) / len(text))
    y = (top + bottom) / 2 + step * len(text) / 2 - size * 0.9
    for char in text:
        c.drawCentredString(x, y, char)
        y -= step


def _draw_header(c: Canvas, doc: InvoiceDocument, page: int, pages: int) -> None:
    title_y = PAGE_H - 17 * mm
    width = _width(doc.title, TITLE_SIZE)
    x = (PAGE_W - width) / 2
    c.setFillColor(TITLE_RED)
    c.setStrokeColor(TITLE_RED)
    c.setLineWidth(0.45)
    text = c.beginText(x, title_y)
    text.setFont(FONT_NAME, TITLE_SIZE)
    text.setTextRenderMode(2)  # fill + stroke: a bold title from the regular font
    text.textOut(doc.title)
    text.setTextRenderMode(0)  # the mode outlives the text object
    c.drawText(text)
    c.setLineWidth(0.6)
    c.line(x, title_y - 2.6 * mm, x + width, title_y - 2.6 * mm)
    c.line(x, title_y - 3.4 * mm, x + width, title_y - 3.4 * mm)

    if doc.is_red:
        c.setStrokeColor(MARK_RED)
        c.setFillColor(MARK_RED)
        c.setLineWidth(1.2)
        c.roundRect(LEFT, PAGE_H - 22 * mm, 34 * mm, 11 * mm, 2 * mm)
        c.setFont(FONT_NAME, 14)
        c.drawCentredString(LEFT + 17 * mm, PAGE_H - 18.5 * mm, "红字发票")

    issued = doc.issued_at.astimezone(SHANGHAI)
    fields = [("发票号码：", doc.number), ("开票日期：", f"{issued:%Y年%m月%d日}")]
    if pages > 1:
        fields.append(("页码：", f"第{page}页 / 共{pages}页"))
    label_x = LEFT + FRAME_W - 72 * mm
    y = PAGE_H - 12 * mm
    for label, value in fields:
        c.setFont(FONT_NAME, TEXT_SIZE)
        c.setFillColor(BROWN)
        c.drawString(label_x, y, label)
        c.setFillColor(black)
        c.drawString(label_x + _width(label, TEXT_SIZE), y, value)
        y -= 5 * mm


def _draw_parties(c: Canvas, layout: _Layout, top: float) -> float:
    bottom = top - layout.party_h
    mid = LEFT + FRAME_W / 2
    c.setStrokeColor(BROWN)
    c.setLineWidth(0.6)
    c.line(LEFT, bottom, LEFT + FRAME_W, bottom)
    c.line(LEFT + LABEL_W, top, LEFT + LABEL_W, bottom)
    c.line(mid, top, mid, bottom)
    c.line(mid + LABEL_W, top, mid + LABEL_W, bottom)
    c.setFont(FONT_NAME, TEXT_SIZE)
    c.setFillColor(BROWN)
    _vertical(c, "购买方信息", LEFT + LABEL_W / 2, top, bottom, TEXT_SIZE)
    _vertical(c, "销售方信息", mid + LABEL_W / 2, top, bottom, TEXT_SIZE)
    for x, rows in ((LEFT + LABEL_W + PAD, layout.buyer), (mid + LABEL_W + PAD, layout.seller)):
        y = top - PAD - TEXT_SIZE
        value_x = x
        for label, value in rows:
            if label:
                c.setFillColor(BROWN)
                c.drawString(x, y, label)
                value_x = x + _width(label, TEXT_SIZE)
            c.setFillColor(black)
            c.drawString(value_x, y, value)
            y -= TEXT_SIZE * LEADING
    return bottom


def _draw_items(c: Canvas, rows: list[_Row], size: float, top: float) -> None:
    c.setFont(FONT_NAME, TEXT_SIZE)
    c.setFillColor(BROWN)
    x = LEFT
    header_y = top - HEADER_H / 2 - TEXT_SIZE * 0.35
    for label, width, _ in COLUMNS:
        c.drawCentredString(x + width / 2, header_y, label)
        x += width
    c.setFont(FONT_NAME, size)
    c.setFillColor(black)
    y = top - HEADER_H
    for row in rows:
        x = LEFT
        for lines, (_, width, align) in zip(row.cells, COLUMNS, strict=True):
            baseline = y - size
            for text in lines:
                if align == "L":
                    c.drawString(x + PAD, baseline, text)
                elif align == "R":
                    c.drawRightString(x + width - PAD, baseline, text)
                else:
                    c.drawCentredString(x + width / 2, baseline, text)
                baseline -= size * ITEM_LEADING
            x += width
        y -= row.height


def _draw_totals(c: Canvas, doc: InvoiceDocument, layout: _Layout) -> None:
    """合计, 价税合计 and 备注, stacked up from the frame's bottom."""
    bottom = FRAME_BOTTOM
    remark_top = bottom + layout.remark_h
    capitals_top = remark_top + CAPITALS_H
    total_y = capitals_top + TOTAL_H / 2 - TEXT_SIZE * 0.35
    c.setStrokeColor(BROWN)
    c.setLineWidth(0.6)
    c.line(LEFT, remark_top, LEFT + FRAME_W, remark_top)
    c.line(LEFT, capitals_top, LEFT + FRAME_W, capitals_top)
    c.line(LEFT + CAPITALS_LABEL_W, capitals_top, LEFT + CAPITALS_LABEL_W, remark_top)
    c.line(LEFT + LABEL_W, remark_top, LEFT + LABEL_W, bottom)

    c.setFont(FONT_NAME, TEXT_SIZE)
    c.setFillColor(BROWN)
    c.drawCentredString(LEFT + COLUMNS[0][1] / 2, total_y, "合　　计")
    capitals_y = remark_top + CAPITALS_H / 2 - TEXT_SIZE * 0.35
    c.drawCentredString(LEFT + CAPITALS_LABEL_W / 2, capitals_y, "价税合计（大写）")
    c.drawString(FIGURES_X, capitals_y, "（小写）")
    _vertical(c, "备注", LEFT + LABEL_W / 2, remark_top, bottom, TEXT_SIZE)

    c.setFillColor(black)
    amount_right = LEFT + sum(width for _, width, _ in COLUMNS[:6]) - PAD
    c.drawRightString(amount_right, total_y, f"¥{_money(doc.net_fen)}")
    c.drawRightString(LEFT + FRAME_W - PAD, total_y, f"¥{_money(doc.tax_fen)}")
    words = f"⊗{doc.amount_in_capitals}"
    words_x = LEFT + CAPITALS_LABEL_W + 3 * mm
    c.setFont(FONT_NAME, _fit(words, FIGURES_X - words_x - 2 * mm, TEXT_SIZE + 1))
    c.drawString(words_x, capitals_y, words)
    c.setFont(FONT_NAME, TEXT_SIZE + 1)
    c.drawString(FIGURES_X + _width("（小写）", TEXT_SIZE), capitals_y,
                 f"¥{_money(doc.amount_fen)}")
    c.setFont(FONT_NAME, TEXT_SIZE)
    y = remark_top - PAD - TEXT_SIZE
    for text in layout.remark:
        c.drawString(LEFT + LABEL_W + PAD, y, text)
        y -= TEXT_SIZE * LEADING


def _draw_page(c: Canvas, doc: InvoiceDocument, layout: _Layout, index: int) -> None:
    pages = len(layout.pages)
    _draw_header(c, doc, index + 1, pages)
    items_top = _draw_parties(c, layout, FRAME_TOP)
    _draw_items(c, layout.pages[index], layout.item_size, items_top)
    below = FRAME_BOTTOM - 5.5 * mm
    c.setFont(FONT_NAME, TEXT_SIZE)
    c.setFillColor(BROWN)
    if index == pages - 1:
        _draw_totals(c, doc, layout)
        c.setFont(FONT_NAME, TEXT_SIZE)
        c.setFillColor(BROWN)
        c.drawString(LEFT + LABEL_W, below, "开票人：")
        c.setFillColor(black)
        c.drawString(LEFT + LABEL_W + _width("开票人：", TEXT_SIZE), below, doc.drawer)
    else:
        c.drawRightString(LEFT + FRAME_W, below, "（续下页）")
    c.setStrokeColor(BROWN)
    c.setLineWidth(1)
    c.rect(LEFT, FRAME_BOTTOM, FRAME_W, FRAME_TOP - FRAME_BOTTOM)


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice's face as PDF bytes (one page for typical invoices)."""
    register_fonts()
    layout = _Layout(doc)
    out = BytesIO()
    # initialFontName: otherwise every page declares Helvetica, a font nobody embeds.
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, initialFontName=FONT_NAME,
               initialFontSize=TEXT_SIZE)
    c.setTitle(f"{doc.title} {doc.number}")
    c.setAuthor(doc.seller.name)
    c.setCreator("invoice-svc")
    for index in range(len(layout.pages)):
        _draw_page(c, doc, layout, index)
        c.showPage()
    with _save_lock:
        c.save()
    return out.getvalue()
