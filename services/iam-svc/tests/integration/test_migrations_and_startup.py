"""Migrations on SQLite and PostgreSQL; start-up: key-encryption key, presets, demo account."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from iam_svc.accounts.demo import DEMO_UIN, DemoConfigurationError
from iam_svc.common.crypto import KeyConfigurationError
from iam_svc.config import Settings
from iam_svc.main import MIGRATIONS_DIR, create_app
from iam_svc.models import metadata
from iam_svc.policies.presets import PRESET_POLICIES
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.migrations import head_revisions, upgrade_to_head
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

DOMAIN = {"accounts", "sub_users", "user_groups", "group_members", "access_keys", "policies",
          "user_policies", "group_policies", "idempotency_keys"}


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    await engine.dispose()
    assert {version} == head_revisions(MIGRATIONS_DIR)
    return names


async def test_migrations_run_on_sqlite(sqlite_url):
    url = sqlite_url("iam")
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url)
    assert DOMAIN | {"outbox", "inbox"} <= await _tables(url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url)  # idempotent


async def test_migrations_run_on_postgresql(create_pg_database):
    url = await create_pg_database("iam_mig")
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url)
    assert DOMAIN | {"outbox", "inbox"} <= await _tables(url)


async def test_migrated_schema_matches_the_models(create_pg_database, sqlite_url):
    for url in (await create_pg_database("iam_cmp"), sqlite_url("cmp")):
        await asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata))
        await engine.dispose()
        ours = [d for d in diff if "outbox" not in repr(d) and "inbox" not in repr(d)]
        assert ours == [], url


def _embedded(url: str, public: str | None = None, **overrides) -> Settings:
    return Settings(database_url=url, bus="inprocess", auto_migrate=True, run_relay=False,
                    gateway_public_key=public, log_level="WARNING", log_json=False, **overrides)


async def test_distributed_mode_refuses_to_start_without_a_key(create_pg_database):
    url = await create_pg_database("iam_nokey")
    with pytest.raises(KeyConfigurationError, match="IAM_KEY_ENCRYPTION_KEY"):
        create_app(Settings(database_url=url))
    with pytest.raises(KeyConfigurationError, match="32 bytes"):
        create_app(Settings(database_url=url,
                            key_encryption_key=base64.b64encode(b"short").decode()))
    with pytest.raises(KeyConfigurationError, match="base64"):
        create_app(Settings(database_url=url, key_encryption_key="not base64!"))


async def test_embedded_mode_generates_a_private_key_file(sqlite_url, tmp_path):
    url = sqlite_url("iam")
    create_app(_embedded(url, create_demo_account=False))
    key_file = tmp_path / "iam.kek"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    assert len(base64.b64decode(first)) == 32
    create_app(_embedded(url, create_demo_account=False))
    assert key_file.read_text() == first  # reused, not regenerated


async def _run(app, calls):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://iam") as client:
            return await calls(client)


async def test_demo_account_created_once_and_printed(sqlite_url, capsys):
    private, public = generate_keypair()
    signer = AssertionSigner(private)
    url = sqlite_url("iam")
    service = {"x-caller-assertion": signer.sign(Caller("service", None))}
    customer = {"x-caller-assertion": signer.sign(Caller("customer", DEMO_UIN))}

    async def calls(client):
        account = (await client.get("/v1/account", headers=customer)).json()
        keys = (await client.get("/v1/access-keys", headers=customer)).json()["access_keys"]
        key = (await client.get(f"/internal/v1/access-keys/{keys[0]['access_key_id']}",
                                headers=service)).json()
        return account, keys, key

    account, keys, key = await _run(create_app(_embedded(url, public)), calls)
    assert account["verification_type"] == "enterprise"
    assert account["uscc"] == "91110000600037341L" and account["site"] == "mainland"
    assert len(keys) == 1 and key["sub_uin"] is None and key["status"] == "enabled"
    printed = capsys.readouterr().out
    assert "iam-svc demo account" in printed
    assert key["secret_id"] in printed and key["secret_key"] in printed

    again = await _run(create_app(_embedded(url, public)), calls)
    assert again[2] == key  # same key, nothing new
    assert "demo account" not in capsys.readouterr().out


async def test_demo_key_from_settings(sqlite_url, capsys):
    private, public = generate_keypair()
    signer = AssertionSigner(private)
    secret_id, secret_key = "AKID" + "D" * 32, "k" * 32
    settings = _embedded(sqlite_url("iam"), public, create_demo_account=True,
                         demo_secret_id=secret_id, demo_secret_key=secret_key)

    async def calls(client):
        headers = {"x-caller-assertion": signer.sign(Caller("service", None))}
        return (await client.get(f"/internal/v1/access-keys/{secret_id}", headers=headers)).json()

    key = await _run(create_app(settings), calls)
    assert key["secret_key"] == secret_key and key["owner_uin"] == DEMO_UIN
    printed = capsys.readouterr().out
    assert secret_id in printed and secret_key not in printed


async def test_demo_key_settings_must_be_complete_and_well_formed(sqlite_url):
    with pytest.raises(DemoConfigurationError, match="both"):
        create_app(_embedded(sqlite_url("a"), demo_secret_id="AKID" + "x" * 32))
    with pytest.raises(DemoConfigurationError, match="AKID"):
        create_app(_embedded(sqlite_url("b"), demo_secret_id="nope", demo_secret_key="k" * 32))


async def test_no_demo_account_in_distributed_mode_by_default(create_pg_database):
    url = await create_pg_database("iam_nodemo")
    settings = Settings(database_url=url, bus="inprocess", auto_migrate=True, run_relay=False,
                        key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
                        log_level="WARNING")
    assert settings.demo_account_enabled is False

    async def calls(client):
        return None

    await _run(create_app(settings), calls)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar() == 0
        presets = (await conn.execute(text(
            "SELECT policy_name, document FROM policies WHERE owner_uin IS NULL"))).all()
    await engine.dispose()
    assert {name for name, _ in presets} == set(PRESET_POLICIES)


async def test_changed_preset_is_resynced_with_an_event(create_pg_database):
    url = await create_pg_database("iam_presets")
    settings = Settings(database_url=url, bus="inprocess", auto_migrate=True, run_relay=False,
                        key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
                        log_level="WARNING")

    async def calls(client):
        return None

    await _run(create_app(settings), calls)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE policies SET document = '{}' "
                                "WHERE policy_name = 'QcloudInvoiceFullAccess'"))
    await _run(create_app(settings), calls)
    async with engine.connect() as conn:
        document = (await conn.execute(text(
            "SELECT document FROM policies WHERE policy_name = 'QcloudInvoiceFullAccess'"
        ))).scalar()
        bodies = [json.loads(b) for (b,) in await conn.execute(text("SELECT body FROM outbox"))]
        count = (await conn.execute(text("SELECT count(*) FROM policies"))).scalar()
    await engine.dispose()
    assert document == PRESET_POLICIES["QcloudInvoiceFullAccess"].policy.text
    assert count == len(PRESET_POLICIES)
    assert [(b["type"], b["data"]["change"], b["data"]["owner_uin"]) for b in bodies] == [
        ("billing.iam.policy.changed.v1", "preset_updated", None)]

