"""An invoice's face (票面) as data: what the PDF prints and the XML carries.

Amounts are integer fen. A red (negative) invoice carries negative amounts on its lines and
totals, the blue invoice's number and the red-letter form number (reference/einvoice.md §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from kit.money import amount_in_capitals

#: special = 电子发票（增值税专用发票）, general = 电子发票（普通发票）.
InvoiceKind = Literal["special", "general"]

KIND_TITLES: dict[str, str] = {
    "special": "电子发票（增值税专用发票）",
    "general": "电子发票（普通发票）",
}
#: `Header/InherentLabel/GeneralOrSpecialVAT/LabelCode`: 01 专票, 02 普票.
KIND_LABEL_CODES: dict[str, tuple[str, str]] = {
    "special": ("01", "增值税专用发票"),
    "general": ("02", "普通发票"),
}


@dataclass(frozen=True, slots=True)
class Party:
    """购买方 or 销售方. Address/phone/bank appear only when the customer asked for them."""

    name: str
    taxpayer_id: str | None = None
    address: str | None = None
    phone: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    item_name: str  # `*信息技术服务*云服务器`
    net_fen: int  # 金额 (tax-exclusive)
    tax_rate: Decimal  # Decimal("0.06")
    tax_fen: int  # 税额
    spec: str | None = None  # 规格型号
    unit: str | None = None  # 单位
    quantity: Decimal | None = None  # 数量 (may be empty on the face)
    unit_price: Decimal | None = None  # 单价 (tax-exclusive, yuan)
    tax_classification_code: str | None = None  # 税收分类编码 (19 digits)

    @property
    def amount_fen(self) -> int:
        """Tax-inclusive amount of the line."""
        return self.net_fen + self.tax_fen


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    number: str  # 20 digits
    issued_at: datetime  # aware; printed in Asia/Shanghai
    kind: InvoiceKind
    buyer: Party
    seller: Party
    lines: tuple[DocumentLine, ...]
    drawer: str  # 开票人
    remark: str = ""
    #: Red invoices only: the blue invoice's 20-digit number and the 红字确认单 number.
    original_number: str | None = None
    red_form_number: str | None = None
    tax_bureau_code: str = "14400000000"
    tax_bureau_name: str = "国家税务总局广东省税务局"

    @property
    def is_red(self) -> bool:
        return self.original_number is not None

    @property
    def net_fen(self) -> int:
        return sum(line.net_fen for line in self.lines)

    @property
    def tax_fen(self) -> int:
        return sum(line.tax_fen for line in self.lines)

    @property
    def amount_fen(self) -> int:
        return self.net_fen + self.tax_fen

    @property
    def amount_in_capitals(self) -> str:
        """`壹仟零陆拾圆整`; red invoices `（负数）壹仟零陆拾圆整`."""
        return amount_in_capitals(self.amount_fen)

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def red_remark(self) -> str:
        """The remark the platform writes on a red invoice; empty for blue ones."""
        if not self.is_red:
            return ""
        text = f"被红冲蓝字数电发票号码：{self.original_number}"
        if self.red_form_number:
            text += f" 红字发票信息确认单编号：{self.red_form_number}"
        return text

    @property
    def face_remark(self) -> str:
        """备注 as printed: a red invoice's automatic remark first, then `remark` (not repeated
        when `remark` already starts with it, as platform data does)."""
        auto = self.red_remark
        if not auto or self.remark.startswith(auto):
            return self.remark
        return f"{auto} {self.remark}" if self.remark else auto
