"""The demo account of embedded mode (`IAM_CREATE_DEMO_ACCOUNT`).

On first start (the account does not exist yet): root account 100000000001, mainland site,
enterprise-verified, and one root API key. The key is IAM_DEMO_SECRET_ID / IAM_DEMO_SECRET_KEY
when both are set; otherwise it is generated and printed once to stdout, labelled. Later starts
change nothing and print nothing.
"""

from __future__ import annotations

import logging

from kit.service import Hook, Runtime
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from iam_svc.access_keys.service import SECRET_ID_RE, SECRET_KEY_RE, create_key
from iam_svc.accounts.models import accounts
from iam_svc.accounts.schemas import CreateAccountIn, VerificationIn
from iam_svc.accounts.service import create_account
from iam_svc.common.crypto import SecretCipher
from iam_svc.common.work import Runner
from iam_svc.config import Settings

log = logging.getLogger("iam_svc.demo")

DEMO_UIN = "100000000001"
DEMO_LEGAL_NAME = "演示科技有限公司"
DEMO_USCC = "91110000600037341L"  # a valid code (python-stdnum's doctest; reference einvoice §1)


class DemoConfigurationError(RuntimeError):
    pass


def check_demo_settings(settings: Settings) -> tuple[str, str] | None:
    """The configured demo key, or None to generate one. Refuses half or malformed config."""
    secret_id = settings.demo_secret_id
    secret_key = (settings.demo_secret_key.get_secret_value()
                  if settings.demo_secret_key is not None else None)
    if secret_id is None and secret_key is None:
        return None
    if secret_id is None or secret_key is None:
        raise DemoConfigurationError(
            "set both IAM_DEMO_SECRET_ID and IAM_DEMO_SECRET_KEY, or neither")
    if not SECRET_ID_RE.match(secret_id):
        raise DemoConfigurationError("IAM_DEMO_SECRET_ID must be 'AKID' followed by letters and "
                                     "digits (at most 64 characters)")
    if not SECRET_KEY_RE.match(secret_key):
        raise DemoConfigurationError("IAM_DEMO_SECRET_KEY must be 16-64 letters and digits")
    return secret_id, secret_key


def demo_account_hook(settings: Settings, cipher: SecretCipher) -> Hook:
    configured = check_demo_settings(settings)

    async def create_demo_account(runtime: Runtime) -> None:
        runner = Runner(runtime, cipher)
        try:
            async with runtime.db.transaction() as session:
                found = await session.execute(
                    select(accounts.c.uin).where(accounts.c.uin == DEMO_UIN))
                if found.first() is not None:
                    return
                work = runner.work(session)
                await create_account(work, CreateAccountIn(
                    uin=DEMO_UIN, site="mainland", verification=VerificationIn(
                        verification_type="enterprise", legal_name=DEMO_LEGAL_NAME,
                        uscc=DEMO_USCC)))
                secret_id, secret_key = configured or (None, None)
                key = await create_key(work, DEMO_UIN, None, "demo",
                                       secret_id=secret_id, secret_key=secret_key)
        except IntegrityError:  # another process created it at the same moment
            return
        log.info("created the demo account", extra={"uin": DEMO_UIN})
        if configured is None:
            shown = f"  SecretKey  {key['secret_access_key']}  (shown only now)"
        else:
            shown = "  SecretKey  (from IAM_DEMO_SECRET_KEY)"
        print(f"""
==== iam-svc demo account (created on first start) ====
  uin        {DEMO_UIN}  (root; enterprise-verified as {DEMO_LEGAL_NAME})
  SecretId   {key['access_key_id']}
{shown}
=======================================================""", flush=True)

    return create_demo_account
