"""What the simulated billing core sells: products, tax rates, marketplace vendors.

Tax rates follow mainland VAT practice as the simulation assumes it (the real rates are the
billing core's business, consumers must take `tax_rate` from the event):

- 6%  information-technology services (cloud computing, storage, databases, CDN, certificates,
      domain names) and value-added telecom services (SMS);
- 9%  basic telecom services (leased lines, voice calls, IoT connectivity);
- 13% sale of goods (hardware UKey, licensed software products) and leasing of tangible
      equipment (on-premises dedicated cluster racks).

Medians are typical amounts in yuan (prepaid: one purchase; postpaid: one month of usage);
amounts are drawn log-normally around them, so most are small and a few are large.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vendor:
    vendor_id: str
    name: str


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    tax_rate: str
    #: relative weight among prepaid purchases; 0 = not sold prepaid
    prepaid_weight: float = 0.0
    #: relative weight among postpaid usage; 0 = no pay-as-you-go
    postpaid_weight: float = 0.0
    #: instance id prefix; None = packages without an instance; "domain" = a domain name
    instance_prefix: str | None = None
    renewable: bool = False
    modifiable: bool = False
    prepaid_median: float = 0.0
    postpaid_median: float = 0.0
    sigma: float = 1.2
    vendor: Vendor | None = None

    @property
    def marketplace(self) -> bool:
        return self.vendor is not None


PRODUCTS: tuple[Product, ...] = (
    Product("cvm", "云服务器", "0.06", 30, 3, "ins-", True, True, 180, 60),
    Product("lighthouse", "轻量应用服务器", "0.06", 14, 0, "lhins-", True, True, 90),
    Product("cbs", "云硬盘", "0.06", 10, 2, "disk-", True, True, 40, 15),
    Product("cdb", "云数据库 MySQL", "0.06", 9, 1.5, "cdb-", True, True, 300, 120),
    Product("redis", "云数据库 Redis", "0.06", 4, 1, "crs-", True, True, 200, 80),
    Product("clb", "负载均衡", "0.06", 0, 2, None, postpaid_median=20),
    Product("cos", "对象存储", "0.06", 5, 4, None, False, False, 30, 3, sigma=1.5),
    Product("cdn", "内容分发网络", "0.06", 4, 3, None, False, False, 50, 12, sigma=1.5),
    Product("scf", "云函数", "0.06", 0, 2, None, postpaid_median=1.5, sigma=1.6),
    Product("cls", "日志服务", "0.06", 0, 1.5, None, postpaid_median=8, sigma=1.4),
    Product("vod", "云点播", "0.06", 2, 1.5, None, False, False, 60, 20),
    Product("domain", "域名注册", "0.06", 8, 0, "domain", True, False, 55, sigma=0.6),
    Product("ssl", "SSL 证书", "0.06", 3, 0, "cert-", True, False, 800, sigma=1.0),
    Product("sms", "短信", "0.06", 5, 1, None, False, False, 50, 10),
    Product("ess", "电子签", "0.06", 1.5, 0, None, False, False, 400, sigma=0.9),
    Product("dc", "专线接入", "0.09", 0, 0.3, None, postpaid_median=3000, sigma=0.7),
    Product("vms", "语音消息", "0.09", 1, 0.5, None, False, False, 100, 30),
    Product("iotcc", "物联网通信", "0.09", 1, 0.5, None, False, False, 50, 20),
    Product("ukey", "数字证书 UKey", "0.13", 0.5, 0, None, False, False, 150, sigma=0.4),
    Product("cdc", "本地专用集群", "0.13", 0.15, 0, "cluster-", True, False, 30000, sigma=0.8),
)

VENDORS: tuple[Vendor, ...] = (
    Vendor("mv-100231", "杭州云栈信息技术有限公司"),
    Vendor("mv-100587", "深圳市蓝鲸数据科技有限公司"),
    Vendor("mv-101204", "北京知行软件有限公司"),
    Vendor("mv-102019", "成都天府安全技术有限公司"),
)

MARKETPLACE_PRODUCTS: tuple[Product, ...] = (
    Product("mkt-website", "企业官网建设", "0.06", 3, 0, None, False, False, 1200, sigma=0.9,
            vendor=VENDORS[0]),
    Product("mkt-ops", "服务器运维托管", "0.06", 2, 0, "mkt-", True, False, 600, sigma=0.8,
            vendor=VENDORS[0]),
    Product("mkt-os-license", "正版操作系统授权", "0.13", 1, 0, None, False, False, 900,
            sigma=0.5, vendor=VENDORS[2]),
    Product("mkt-waf", "网站安全加固服务", "0.06", 1, 0, None, False, False, 2000, sigma=0.7,
            vendor=VENDORS[3]),
    Product("mkt-ocr-api", "身份证 OCR 识别 API", "0.06", 0, 1, None, postpaid_median=25,
            sigma=1.3, vendor=VENDORS[1]),
)

ALL_PRODUCTS: tuple[Product, ...] = PRODUCTS + MARKETPLACE_PRODUCTS
