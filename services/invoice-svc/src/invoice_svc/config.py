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
