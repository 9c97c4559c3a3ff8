"""The invoice PDF (INV-REQ-17): what it says, that its font travels with it, that it draws."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pdfplumber
import pypdfium2
import pytest
from fontTools.ttLib import TTFont
from invoice_svc.documents import fonts
from invoice_svc.documents.model import Party
from invoice_svc.documents.pdf import render_invoice_pdf
from invoice_svc.testing import BLUE_NUMBER, BUYER, FORM_NUMBER, NUMBER, SELLER
from invoice_svc.testing import document_line as line
from invoice_svc.testing import sample_invoice as invoice
from pdfminer.pdftypes import PDFStream, resolve1


def money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def pdf_text(data: bytes) -> list[str]:
    with pdfplumber.open(BytesIO(data)) as pdf:
        return [page.extract_text() for page in pdf.pages]


TWO_LINES = (line("云服务器", 106000, spec="ecs.g7.large", unit="项", quantity=Decimal(1),
                  unit_price=Decimal("1000")),
             line("对象存储", 13130, rate="0.13", unit="GB", quantity=Decimal("12.5")))


def test_inv_req_17_pdf_shows_buyer_seller_number_amounts_and_capitals() -> None:
    doc = invoice(TWO_LINES)
    [text] = pdf_text(render_invoice_pdf(doc))
    flat = text.replace("\n", " ")
    assert "电子发票（增值税专用发票）" in flat
    assert f"发票号码：{NUMBER}" in flat and "开票日期：2026年09月01日" in flat
    for party in (BUYER, SELLER):
        assert f"名称：{party.name}" in flat
        assert f"统一社会信用代码/纳税人识别号：{party.taxpayer_id}" in flat
    assert "深圳市南山区科技园示例路 1 号 0755-86000000" in flat
    assert "招商银行深圳分行科技园支行 755900000000001" in flat
    for item in doc.lines:
        assert item.item_name in flat
        assert money(item.net_fen) in flat and money(item.tax_fen) in flat
    assert "1,000.00" in flat and "60.00" in flat  # 1 060.00 at 6 %
    assert "6%" in flat and "13%" in flat and "12.5" in flat and "ecs.g7.large" in flat
    assert f"¥{money(doc.net_fen)}" in flat and f"¥{money(doc.tax_fen)}" in flat
    assert doc.amount_in_capitals == "壹仟壹佰玖拾壹圆叁角整"
    assert f"⊗{doc.amount_in_capitals}" in flat
    assert f"（小写）¥{money(doc.amount_fen)}" in flat and "¥1,191.30" in flat
    assert "账期2026-08 账号1234567890" in flat and "开票人：张三" in flat
    assert "红字" not in flat


def test_inv_req_17_pdf_general_invoice_prints_its_title_and_no_absent_party_details() -> None:
    bare_seller = Party(SELLER.name, SELLER.taxpayer_id)
    [text] = pdf_text(render_invoice_pdf(invoice(TWO_LINES, kind="general", seller=bare_seller)))
    assert "电子发票（普通发票）" in text and "增值税专用发票" not in text
    assert "地址、电话" not in text and "开户行及账号" not in text


def test_inv_req_17_pdf_red_invoice_is_negative_and_marked() -> None:
    red_lines = (line("云服务器", -106000, quantity=Decimal(-1), unit_price=Decimal("1000")),)
    doc = invoice(red_lines, original_number=BLUE_NUMBER, red_form_number=FORM_NUMBER)
    [text] = pdf_text(render_invoice_pdf(doc))
    flat = text.replace("\n", " ")
    assert "红字发票" in flat
    assert "-1,000.00" in flat and "-60.00" in flat
    assert "¥-1,000.00" in flat and "¥-60.00" in flat and "（小写）¥-1,060.00" in flat
    assert "⊗（负数）壹仟零陆拾圆整" in flat
    auto = f"被红冲蓝字数电发票号码：{BLUE_NUMBER} 红字发票信息确认单编号：{FORM_NUMBER}"
    assert f"{auto} 账期2026-08 账号1234567890" in flat


def test_inv_req_17_pdf_thirty_lines_fit_one_page() -> None:
    lines = tuple(line(f"云服务器{i:02d}", 10000 + 137 * i, spec=f"ecs.s{i}.large", unit="项",
                       quantity=Decimal(1)) for i in range(30))
    doc = invoice(lines)
    pages = pdf_text(render_invoice_pdf(doc))
    assert len(pages) == 1
    for item in lines:
        assert item.item_name in pages[0] and money(item.net_fen) in pages[0]
    assert f"¥{money(doc.amount_fen)}" in pages[0] and doc.amount_in_capitals in pages[0]


def test_inv_req_17_pdf_long_names_wrap_inside_their_column() -> None:
    name = "云服务器（包年包月，含系统盘、数据盘与公网带宽，华南地区广州三区标准型实例）"
    doc = invoice((line(name, 106000), line("云硬盘", 5300)))
    column_end = (20 + 66) * 72 / 25.4  # 项目名称: the first 66 mm of a frame at 20 mm
    with pdfplumber.open(BytesIO(render_invoice_pdf(doc))) as pdf:
        [page] = pdf.pages
        header = next(c["bottom"] for c in page.chars if c["text"] == "项")
        total = next(c["top"] for c in page.chars if c["text"] == "合")
        cells = sorted((c for c in page.chars
                        if header < c["top"] < total and c["x0"] < column_end),
                       key=lambda c: (round(c["top"]), c["x0"]))
    assert "".join(c["text"] for c in cells) == "".join(item.item_name for item in doc.lines)
    assert max(c["x1"] for c in cells) <= column_end
    assert len({round(c["top"]) for c in cells}) >= 3  # the long name took two rows or more


def test_inv_req_17_pdf_many_lines_continue_on_more_pages_with_totals_last() -> None:
    lines = tuple(line(f"计算资源{i:03d}", 5000 + i) for i in range(90))
    doc = invoice(lines)
    pages = pdf_text(render_invoice_pdf(doc))
    assert len(pages) >= 2
    everything = "\n".join(pages)
    for item in lines:
        assert everything.count(item.item_name) == 1
    assert all(f"共{len(pages)}页" in page for page in pages)
    assert all(NUMBER in page and BUYER.name in page for page in pages)
    assert all("价税合计" not in page for page in pages[:-1])
    assert doc.amount_in_capitals in pages[-1] and f"¥{money(doc.amount_fen)}" in pages[-1]


def _fonts(data: bytes) -> list[dict]:
    with pdfplumber.open(BytesIO(data)) as pdf:
        found = []
        for page in pdf.pages:
            resources = resolve1(page.page_obj.resources)
            for ref in resolve1(resources["Font"]).values():
                font = resolve1(ref)
                descriptor = resolve1(font.get("FontDescriptor"))
                embedded = {key: resolve1(descriptor[key]) for key in
                            ("FontFile", "FontFile2", "FontFile3")
                            if descriptor and key in descriptor}
                found.append({"base": resolve1(font["BaseFont"]).name,
                              "subtype": resolve1(font["Subtype"]).name,
                              "embedded": embedded})
        return found


def test_inv_req_17_pdf_embeds_a_subset_of_its_font() -> None:
    data = render_invoice_pdf(invoice(TWO_LINES))
    found = _fonts(data)
    assert found
    for font in found:
        assert font["subtype"] == "TrueType"
        assert re.fullmatch(r"[A-Z]{6}\+NotoSansSC-Regular", font["base"]), font["base"]
        stream = font["embedded"].get("FontFile2")
        assert isinstance(stream, PDFStream), font
        program = stream.get_data()
        assert program[:4] == b"\x00\x01\x00\x00"  # a TrueType font program
        # A subset: a few glyphs, not the 10 MB font.
        assert 1000 < len(program) < 500_000
    # No standard-14 or CID font that the viewer would have to supply.
    assert b"/Helvetica" not in data and b"STSong" not in data
    assert b"/Type0" not in data


def _ink(data: bytes) -> tuple[float, float]:
    """Share of non-white pixels in the frame and of dark pixels where the title sits."""
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=1).to_pil().convert("L")  # 1 px per point
    width, height = image.size
    frame = image.crop((int(20 / 25.4 * 72), int(28 / 25.4 * 72),
                        width - int(20 / 25.4 * 72), int(height * 0.55)))
    title = image.crop((int(width * 0.35), int(8 / 25.4 * 72), int(width * 0.65),
                        int(19 / 25.4 * 72)))
    ink = sum(frame.histogram()[:240]) / (frame.width * frame.height)
    dark = sum(title.histogram()[:160]) / (title.width * title.height)
    return ink, dark


def test_inv_req_17_pdf_page_draws_text_and_rules() -> None:
    ink, dark = _ink(render_invoice_pdf(invoice(TWO_LINES)))
    assert ink > 0.03, ink  # rules, labels, parties and lines
    assert dark > 0.08, dark  # the title in full weight, not hairlines


def test_fonts_instance_is_a_static_regular() -> None:
    register = fonts.register_fonts()
    assert register == fonts.FONT_NAME
    font = TTFont(fonts.instance_path(), lazy=True)
    assert "fvar" not in font and "gvar" not in font
    assert font["OS/2"].usWeightClass == 400
    assert font["name"].getDebugName(6) == "NotoSansSC-Regular"
    assert len(font.getBestCmap()) > 25_000  # the whole repertoire, not a subset


def test_fonts_cache_builds_once_and_lives_where_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = fonts.instance_path().read_bytes()
    calls = []

    def build() -> bytes:
        calls.append(1)
        return built

    monkeypatch.setenv(fonts.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(fonts, "_build_instance", build)
    first = fonts._load_instance()
    second = fonts._load_instance()
    assert first == second == fonts.instance_path()
    assert first.parent == tmp_path / "cache" and first.read_bytes() == built
    assert calls == [1]
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp file left over
    assert first.stat().st_mode & 0o777 == 0o644


def test_fonts_unwritable_cache_still_gives_the_font(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(fonts.CACHE_ENV, str(blocker / "cache"))
    monkeypatch.setattr(fonts, "_build_instance", lambda: b"font bytes")
    loaded = fonts._load_instance()
    assert not isinstance(loaded, Path) and loaded.read() == b"font bytes"


def _font_programs(data: bytes) -> list[bytes]:
    return [f["embedded"]["FontFile2"].get_data() for f in _fonts(data)]


def test_inv_req_17_pdf_renders_concurrently_like_sequentially() -> None:
    docs = [invoice((line(f"云服务器{i}", 100000 + i * 7919),), number=f"2644200000000000{i:04d}")
            for i in range(8)]
    sequential = [_font_programs(render_invoice_pdf(doc)) for doc in docs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(render_invoice_pdf, docs * 3))
    for i, data in enumerate(concurrent):
        doc = docs[i % len(docs)]
        assert _font_programs(data) == sequential[i % len(docs)]
        assert doc.number in pdf_text(data)[0]
