"""Settings of invoice-svc, read from `INVOICE_*` environment variables."""

from kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICE_", extra="ignore")

    service_name: str = "invoice-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/invoice_svc"
    # The seller printed on every invoice (销售方): the provider's own company.
    seller_name: str = "示例云计算（深圳）有限公司"
    seller_taxpayer_id: str = "91440300MA5FQ2LT1Y"
    seller_address: str = "深圳市南山区科技园示例路 1 号"
    seller_phone: str = "0755-86000000"
    seller_bank_name: str = "招商银行深圳分行科技园支行"
    seller_bank_account: str = "755900000000001"

    #: The rate legacy remaining money (旧版剩余可开票金额) is invoiced at: it has no record and
    #: so no rate of its own; cloud services are 6%.
    legacy_tax_rate: str = "0.06"
    #: 备注 limit in GBK bytes (reference/einvoice.md §5; the 数电 platform's own limit is
    #: unverified, 230 is the conservative legacy rule).
    remark_max_bytes: int = 230
    #: 税收分类 short names per tax rate, printed as `*简称*名称` on each line. UNVERIFIED: the
    #: codes and names for cloud services must come from the provider's tax adviser.
    item_categories: dict[str, str] = Field(default_factory=lambda: {
        "0.06": "信息技术服务", "0.09": "基础电信服务", "0.13": "经营租赁"})
    #: Products the provider does not invoice (INV-REQ-8): product code -> where to go instead.
    redirected_products: dict[str, str] = Field(default_factory=lambda: {
        "exmail": "企业邮箱购买的域名请前往企业邮箱页面开票"})
    #: Cloud development (云开发) paid with WeChat Pay is invoiced in the WeChat IDE console.
    wechat_pay_products: tuple[str, ...] = ("tcb",)

    # --- issuing (INV-REQ-17) -------------------------------------------------------------
    #: Where invoices are issued: "simulated" (an in-process simulated tax platform), the URL
    #: of a simulated platform server (`python -m invoice_svc.taxplatform.server`), or
    #: "package.module:factory" for a real provider's adapter.
    tax_platform: str = "simulated"
    #: 开票人 printed on every invoice.
    drawer: str = "系统开票"
    run_issuing: bool = True
    issuing_batch_size: int = 20
    issuing_poll_seconds: float = 0.5
    #: How long a worker owns an invoice it claimed; a crashed worker's claims expire then.
    issuing_lease_seconds: float = 60.0
    #: Re-ask the platform this often while it says "issuing".
    issuing_check_seconds: float = 2.0
    #: Backoff after "platform unavailable": base * 2^attempts, capped.
    issuing_retry_base_seconds: float = 2.0
    issuing_retry_max_seconds: float = 300.0

    #: How often each replica lists the buyer-raised red-letter forms (a provider call that
    #: covers 72 hours; providers throttle it).
    returns_inbound_poll_seconds: float = 60.0

    # --- mail ---------------------------------------------------------------------------
    #: SMTP server for issued invoices; empty host = mail off (logged, not sent).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_sender: str = "invoice@example.com"

    # --- monthly auto-invoicing (INV-REQ-30, 31) -----------------------------------------
    #: How often the scheduler looks for accounts whose run of this month is due.
    autoinvoicing_poll_seconds: float = 300.0
    autoinvoicing_page_size: int = 500
