"""Invoice documents: PDF pages/s of `render_invoice_pdf` for a realistic 10-line invoice
against a bare reportlab canvas drawing the same strings and rules at fixed positions (no
measuring, wrapping or alignment) with the same embedded font, in alternating batches in one
process; plus XML renders/s and parses/s. Target: our PDF within 2x of the bare render.

Run: `uv run python bench/bench_documents.py [--rounds 9 --batch 40]`; writes
bench/results/documents.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from invoice_svc.documents.fonts import FONT_NAME, register_fonts
from invoice_svc.documents.model import DocumentLine, InvoiceDocument, Party
from invoice_svc.documents.pdf import render_invoice_pdf
from invoice_svc.documents.xml import parse_invoice_xml, render_invoice_xml
from kit.clock import SHANGHAI
from kit.money import format_yuan, split_tax_inclusive
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

RESULTS = Path(__file__).parent / "results"
TARGET_RATIO = 2.0
PRODUCTS = ("云服务器", "云硬盘", "对象存储", "内容分发网络", "云数据库 MySQL", "负载均衡",
            "弹性公网 IP", "云函数", "容器服务", "日志服务")


def invoice() -> InvoiceDocument:
    lines = []
    for i, product in enumerate(PRODUCTS):
        amount = 12_345_67 // (i + 1)
        net, tax = split_tax_inclusive(amount, Decimal("0.06"))
        lines.append(DocumentLine(
            item_name=f"*信息技术服务*{product}", net_fen=net, tax_rate=Decimal("0.06"),
            tax_fen=tax, spec=f"spec.{i}.large", unit="项", quantity=Decimal(1),
            unit_price=Decimal(format_yuan(net))))
    return InvoiceDocument(
        number="26442000000000012345",
        issued_at=datetime(2026, 9, 1, 10, 11, 12, tzinfo=SHANGHAI), kind="special",
        buyer=Party("腾讯科技（深圳）有限公司", "9144030071526726XG"),
        seller=Party("示例云计算（深圳）有限公司", "91440300MA5FQ2LT1Y",
                     "深圳市南山区科技园示例路 1 号", "0755-86000000",
                     "招商银行深圳分行科技园支行", "755900000000001"),
        lines=tuple(lines), drawer="张三", remark="账期2026-08 账号100001234567")


def bare_pdf(doc: InvoiceDocument) -> bytes:
    """The baseline: the same strings and rules, each at a fixed place, nothing measured."""
    width, height = landscape(A4)
    out = BytesIO()
    c = Canvas(out, pagesize=(width, height), pageCompression=1, initialFontName=FONT_NAME,
               initialFontSize=9)
    c.setFont(FONT_NAME, 17)
    c.drawString(110 * mm, height - 17 * mm, doc.title)
    c.setFont(FONT_NAME, 9)
    c.drawString(205 * mm, height - 12 * mm, f"发票号码：{doc.number}")
    c.drawString(205 * mm, height - 17 * mm, "开票日期：2026年09月01日")
    c.rect(20 * mm, 16 * mm, width - 40 * mm, height - 44 * mm)
    for x, party, label in ((20, doc.buyer, "购买方信息"), (148, doc.seller, "销售方信息")):
        c.line(x * mm, height - 28 * mm, x * mm, height - 50 * mm)
        for i, char in enumerate(label):
            c.drawString(x * mm + 2 * mm, height - (32 + 4 * i) * mm, char)
        c.drawString((x + 10) * mm, height - 32 * mm, f"名称：{party.name}")
        c.drawString((x + 10) * mm, height - 37 * mm,
                     f"统一社会信用代码/纳税人识别号：{party.taxpayer_id}")
        if party.address:
            c.drawString((x + 10) * mm, height - 42 * mm,
                         f"地址、电话：{party.address} {party.phone}")
            c.drawString((x + 10) * mm, height - 47 * mm,
                         f"开户行及账号：{party.bank_name} {party.bank_account}")
    c.line(20 * mm, height - 50 * mm, width - 20 * mm, height - 50 * mm)
    columns = (22, 88, 122, 136, 160, 192, 225, 246)
    for x, label in zip(columns, ("项目名称", "规格型号", "单位", "数量", "单价", "金额",
                                  "税率/征收率", "税额"), strict=True):
        c.drawString(x * mm, height - 55 * mm, label)
    y = height - 61 * mm
    for line in doc.lines:
        cells = (line.item_name, line.spec or "", line.unit or "", str(line.quantity),
                 str(line.unit_price), format_yuan(line.net_fen), "6%", format_yuan(line.tax_fen))
        for x, text in zip(columns, cells, strict=True):
            c.drawString(x * mm, y, text)
        y -= 12
    c.drawString(40 * mm, 70 * mm, "合　　计")
    c.drawString(200 * mm, 70 * mm, f"¥{format_yuan(doc.net_fen)}")
    c.drawString(250 * mm, 70 * mm, f"¥{format_yuan(doc.tax_fen)}")
    c.line(20 * mm, 66 * mm, width - 20 * mm, 66 * mm)
    c.drawString(30 * mm, 60 * mm, "价税合计（大写）")
    c.drawString(72 * mm, 60 * mm, f"⊗{doc.amount_in_capitals}")
    c.drawString(192 * mm, 60 * mm, f"（小写）¥{format_yuan(doc.amount_fen)}")
    c.line(20 * mm, 56 * mm, width - 20 * mm, 56 * mm)
    c.drawString(22 * mm, 45 * mm, "备")
    c.drawString(22 * mm, 40 * mm, "注")
    c.drawString(30 * mm, 50 * mm, doc.face_remark)
    c.drawString(28 * mm, 10 * mm, f"开票人：{doc.drawer}")
    c.showPage()
    c.save()
    return out.getvalue()


def batch_seconds(fn: Callable[[], object], batch: int) -> float:
    began = time.perf_counter()
    for _ in range(batch):
        fn()
    return time.perf_counter() - began


def main(rounds: int, batch: int) -> dict[str, Any]:
    began = time.perf_counter()
    register_fonts()
    register_ms = (time.perf_counter() - began) * 1000
    doc = invoice()
    ours_pdf, bare = render_invoice_pdf(doc), bare_pdf(doc)  # warm-up, and the sizes
    xml = render_invoice_xml(doc)
    ours_runs, bare_runs, ratios = [], [], []
    for index in range(rounds):
        # Alternate which side goes first so drift in the machine's speed hits both alike.
        first, second = ((render_invoice_pdf, bare_pdf) if index % 2 == 0
                         else (bare_pdf, render_invoice_pdf))
        seconds = {fn: batch_seconds(lambda fn=fn: fn(doc), batch) for fn in (first, second)}
        ours_runs.append(batch / seconds[render_invoice_pdf])
        bare_runs.append(batch / seconds[bare_pdf])
        ratios.append(seconds[render_invoice_pdf] / seconds[bare_pdf])
    xml_batch = batch * 25
    xml_render = [xml_batch / batch_seconds(lambda: render_invoice_xml(doc), xml_batch)
                  for _ in range(rounds)]
    xml_parse = [xml_batch / batch_seconds(lambda: parse_invoice_xml(xml), xml_batch)
                 for _ in range(rounds)]
    ratio = statistics.median(ratios)
    report = {
        "benchmark": "invoice documents: PDF and XML rendering",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "workload": f"one 10-line special invoice, A4 landscape, font {FONT_NAME} embedded",
        "method": (f"{rounds} rounds of {batch} renders per side, sides alternating first; "
                   "figures are medians over rounds; ratio = our time / bare time per round"),
        "font_register_ms": round(register_ms, 1),
        "pdf_pages_per_s": round(statistics.median(ours_runs), 1),
        "bare_reportlab_pages_per_s": round(statistics.median(bare_runs), 1),
        "ratio_ours_vs_bare": round(ratio, 2),
        "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO,
        "pdf_bytes": len(ours_pdf), "bare_pdf_bytes": len(bare),
        "xml_renders_per_s": round(statistics.median(xml_render)),
        "xml_parses_per_s": round(statistics.median(xml_parse)),
        "xml_bytes": len(xml),
    }
    print(f"PDF ours {report['pdf_pages_per_s']} pages/s ({len(ours_pdf)} B), bare reportlab "
          f"{report['bare_reportlab_pages_per_s']} pages/s ({len(bare)} B): ratio "
          f"{report['ratio_ours_vs_bare']}x (target <= {TARGET_RATIO}x: "
          f"{report['meets_target']})")
    print(f"XML render {report['xml_renders_per_s']}/s, parse {report['xml_parses_per_s']}/s "
          f"({len(xml)} B); font registration {report['font_register_ms']} ms")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=40)
    args = parser.parse_args()
    result = main(args.rounds, args.batch)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "documents.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                            + "\n")
    print(f"wrote {RESULTS / 'documents.json'}")
