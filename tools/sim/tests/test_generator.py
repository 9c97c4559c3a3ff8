"""sim.generator: deterministic, realistic streams that keep the billing core's promises.

The `jsonschema` package is not in the workspace, so payloads are checked against the generated
JSON Schemas with `schema_errors` below: a validator for exactly the keywords those schemas use
(a test fails if a schema ever uses another one)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import pytest
from kit.messaging import CloudEvent, parse_event
from kit.money import parse_yuan
from sim.contracts import EVENT_MODELS, period_end
from sim.eventdocs import schema_of
from sim.generator import SimConfig, generate, month_window, stream_bytes

PAID, REFUNDED = "billing.order.paid.v1", "billing.order.refunded.v1"
SETTLED, TRANSFER = "billing.bill.settled.v1", "billing.account.transfer.completed.v1"
MONEY = re.compile(r"^(0|[1-9][0-9]*)\.[0-9]{2}$")
MONEY_FIELDS = ("cash_amount", "voucher_amount", "amount")
TIME_FIELDS = {PAID: "paid_at", REFUNDED: "refunded_at", SETTLED: "settled_at",
               TRANSFER: "transferred_at"}
# Rich enough that every kind of event appears many times.
CONFIG = SimConfig(seed=2024, accounts=40, months=6, end_month="2026-10", refund_share=0.2,
                   marketplace_share=0.15, voucher_share=0.3, transfer_ratio=0.1)


@pytest.fixture(scope="module")
def events() -> list[CloudEvent]:
    return list(generate(CONFIG))


def by_type(events: list[CloudEvent], event_type: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == event_type]


# -- a JSON Schema validator for the subset our schemas use --------------------------------------

_ANNOTATIONS = {"$schema", "$id", "title", "description", "examples", "format", "then", "else"}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "null": (type(None),), "object": (dict,),
    "array": (list,),
}


def schema_errors(schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    errors: list[str] = []
    for key, sub in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "type":
            if not isinstance(value, _JSON_TYPES[sub]):
                errors.append(f"{where}: not {sub}")
        elif key == "enum":
            if value not in sub:
                errors.append(f"{where}: {value!r} not in {sub}")
        elif key == "const":
            if value != sub or type(value) is not type(sub):
                errors.append(f"{where}: {value!r} != {sub!r}")
        elif key == "pattern":
            if isinstance(value, str) and not re.search(sub, value):
                errors.append(f"{where}: {value!r} does not match {sub}")
        elif key == "minLength":
            if isinstance(value, str) and len(value) < sub:
                errors.append(f"{where}: shorter than {sub}")
        elif key == "maxLength":
            if isinstance(value, str) and len(value) > sub:
                errors.append(f"{where}: longer than {sub}")
        elif key == "properties":
            if isinstance(value, dict):
                for name, prop in sub.items():
                    if name in value:
                        errors += schema_errors(prop, value[name], f"{where}.{name}")
        elif key == "required":
            if isinstance(value, dict):
                errors += [f"{where}: {name} missing" for name in sub if name not in value]
        elif key == "additionalProperties":
            assert sub is False, "only additionalProperties: false is supported"
            if isinstance(value, dict):
                errors += [f"{where}: {name} not allowed" for name in value
                           if name not in schema.get("properties", {})]
        elif key == "anyOf":
            if all(schema_errors(s, value, where) for s in sub):
                errors.append(f"{where}: matches none of anyOf")
        elif key == "allOf":
            for s in sub:
                errors += schema_errors(s, value, where)
        elif key == "if":
            branch = schema.get("else") if schema_errors(sub, value, where) else schema.get("then")
            errors += schema_errors(branch or {}, value, where)
        else:
            raise AssertionError(f"schema keyword {key!r} is not supported by this validator")
    return errors


def test_schema_checker_catches_what_the_models_refuse() -> None:
    schema = schema_of(EVENT_MODELS[PAID])
    good = next(e.data for e in generate(CONFIG) if e.type == PAID)
    assert schema_errors(schema, good) == []
    for bad in ({"cash_amount": "1.5"}, {"marketplace": True, "vendor_id": None},
                {"vendor_id": "mv-1"}, {"uin": 100}, {"extra": 1}, {"billing_mode": "x"}):
        assert schema_errors(schema, good | bad), bad
    missing = dict(good)
    del missing["instance_id"]
    assert schema_errors(schema, missing)


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_including_event_ids(events: list[CloudEvent]) -> None:
    assert stream_bytes(generate(CONFIG)) == stream_bytes(events)


def test_a_different_seed_gives_a_different_stream() -> None:
    small = SimConfig(seed=1, accounts=5, months=2)
    other = SimConfig(seed=2, accounts=5, months=2)
    first, second = list(generate(small)), list(generate(other))
    assert stream_bytes(first) != stream_bytes(second)
    assert not {e.id for e in first} & {e.id for e in second}


def test_another_process_with_another_hash_seed_prints_the_same_stream() -> None:
    """Nothing depends on set order, the wall clock or os.urandom."""
    config = SimConfig(seed=9, accounts=6, months=2, end_month="2025-01")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "publish", "--dry-run", "--seed", "9", "--accounts", "6",
         "--months", "2", "--end-month", "2025-01"],
        capture_output=True, check=True, timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert done.stdout == stream_bytes(generate(config))
    lines = done.stdout.splitlines()
    assert lines and all(parse_event(line).source == "/billing-core" for line in lines)


def test_config_is_checked() -> None:
    for bad in ({"accounts": 0}, {"months": 0}, {"end_month": "2026-13"},
                {"refund_share": 1.5}, {"end_month": "2026-1"}):
        with pytest.raises(ValueError):
            SimConfig(**bad)  # type: ignore[arg-type]


# -- every event keeps the contract -------------------------------------------------------------


def test_every_event_validates_against_its_model_and_its_json_schema(
        events: list[CloudEvent]) -> None:
    counts = Counter(e.type for e in events)
    assert set(counts) == set(EVENT_MODELS)
    assert all(n >= 20 for n in counts.values()), counts
    schemas = {t: schema_of(m) for t, m in EVENT_MODELS.items()}
    for event in events:
        parsed = parse_event(event.to_json(), message_id=event.id)
        payload = EVENT_MODELS[parsed.type].model_validate(parsed.data)
        assert payload.model_dump(mode="json") == parsed.data
        assert schema_errors(schemas[parsed.type], parsed.data) == [], parsed.data
        assert parsed.source == "/billing-core"
        assert parsed.subject == payload.subject


def test_money_strings_have_exactly_two_decimals(events: list[CloudEvent]) -> None:
    seen = 0
    for event in events:
        for name in MONEY_FIELDS:
            if name in event.data:
                value = event.data[name]
                assert isinstance(value, str) and MONEY.match(value), (name, value)
                seen += 1
    assert seen > len(events)


def test_times_are_aware_ordered_inside_the_window_and_match_the_envelope(
        events: list[CloudEvent]) -> None:
    periods = month_window(CONFIG)
    assert periods == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    start = datetime.fromisoformat("2026-05-01T00:00:00+08:00")
    last_bill_end = period_end("2026-11")
    times = [e.time for e in events]
    assert times == sorted(times)
    for event in events:
        at = datetime.fromisoformat(event.data[TIME_FIELDS[event.type]])
        assert at.tzinfo is not None and at == event.time
        assert start <= at < last_bill_end
        if event.type != SETTLED:
            assert at < period_end("2026-10")


def test_ids_are_unique(events: list[CloudEvent]) -> None:
    ids = [e.id for e in events]
    business = ([d["sub_order_id"] for d in by_type(events, PAID)]
                + [d["refund_id"] for d in by_type(events, REFUNDED)]
                + [d["bill_id"] for d in by_type(events, SETTLED)]
                + [d["transfer_id"] for d in by_type(events, TRANSFER)])
    assert len(set(ids)) == len(ids)
    assert len(set(business)) == len(business)


def test_uins_start_at_the_first_uin(events: list[CloudEvent]) -> None:
    uins = {e.subject for e in events}
    assert uins <= {str(100_000_000_100 + i) for i in range(CONFIG.accounts)}
    assert "100000000100" in uins


# -- the billing rules the ledger relies on ----------------------------------------------------


def test_refund_follows_its_order_and_never_exceeds_its_cash(events: list[CloudEvent]) -> None:
    orders: dict[str, tuple[int, dict[str, Any]]] = {}
    refunds = 0
    for position, event in enumerate(events):
        if event.type == PAID:
            orders[event.data["sub_order_id"]] = (position, event.data)
        elif event.type == REFUNDED:
            refund = event.data
            assert refund["sub_order_id"] in orders, "refund before (or without) its order"
            at, order = orders[refund["sub_order_id"]]
            assert at < position
            assert datetime.fromisoformat(refund["refunded_at"]) > datetime.fromisoformat(
                order["paid_at"])
            assert 0 < parse_yuan(refund["cash_amount"]) <= parse_yuan(order["cash_amount"])
            assert parse_yuan(refund["voucher_amount"]) <= parse_yuan(order["voucher_amount"])
            for name in ("uin", "product_code", "product_name", "tax_rate", "marketplace",
                         "vendor_id"):
                assert refund[name] == order[name], name
            refunds += 1
    assert refunds >= 20
    partial = [d for d in by_type(events, REFUNDED)
               if d["cash_amount"] != orders[d["sub_order_id"]][1]["cash_amount"]]
    assert 0 < len(partial) < refunds  # both full and partial refunds occur


def test_marketplace_events_carry_their_vendor(events: list[CloudEvent]) -> None:
    marketplace = [e.data for e in events if e.data.get("marketplace")]
    assert len(marketplace) >= 20
    assert {e.type for e in events if e.data.get("marketplace")} == {PAID, REFUNDED, SETTLED}
    for data in marketplace:
        assert data["vendor_id"]
        if "vendor_name" in data:
            assert data["vendor_name"]
        assert parse_yuan(data["voucher_amount"]) == 0  # vouchers do not pay marketplace goods
    for event in events:
        if event.data.get("marketplace") is False:
            assert event.data["vendor_id"] is None


def test_orders_mix_types_rates_vouchers_and_instances(events: list[CloudEvent]) -> None:
    orders = by_type(events, PAID)
    assert {d["order_type"] for d in orders} == {"new", "renew", "modify"}
    assert {d["tax_rate"] for d in orders} == {"0.06", "0.09", "0.13"}
    assert any(d["instance_id"] is None for d in orders)
    assert any(d["instance_id"] for d in orders)
    with_voucher = [d for d in orders if d["voucher_amount"] != "0.00"]
    assert with_voucher and any(d["cash_amount"] == "0.00" for d in with_voucher)
    for data in orders:
        assert parse_yuan(data["cash_amount"]) + parse_yuan(data["voucher_amount"]) > 0
    renewed = [d for d in orders if d["order_type"] == "renew" and d["instance_id"]]
    bought = {d["instance_id"] for d in orders if d["order_type"] == "new"}
    assert any(d["instance_id"] in bought for d in renewed)  # renewals of instances seen bought
    by_order = Counter(d["order_id"] for d in orders)
    assert max(by_order.values()) >= 2  # some orders hold several sub-orders


def test_amounts_are_realistic_mostly_small(events: list[CloudEvent]) -> None:
    amounts = sorted(parse_yuan(d["cash_amount"]) + parse_yuan(d["voucher_amount"])
                     for d in by_type(events, PAID) + by_type(events, SETTLED))
    assert amounts[-1] <= 9_999_999
    assert amounts[len(amounts) // 2] < 50_000  # median under 500 yuan
    assert any(a < 100 for a in amounts)  # some under 1 yuan


def test_one_bill_per_product_per_month_per_account(events: list[CloudEvent]) -> None:
    bills = by_type(events, SETTLED)
    keys = Counter((d["uin"], d["product_code"], d["period"]) for d in bills)
    assert max(keys.values()) == 1
    assert {d["period"] for d in bills} == set(month_window(CONFIG))
    for data in bills:
        assert datetime.fromisoformat(data["settled_at"]) >= period_end(data["period"])


def test_transfers_link_distinct_accounts_consistently(events: list[CloudEvent]) -> None:
    transfers = by_type(events, TRANSFER)
    assert {d["kind"] for d in transfers} == {"reseller_customer", "parent_child"}
    kind_of_pair: dict[frozenset[str], set[str]] = defaultdict(set)
    for data in transfers:
        assert data["sender_uin"] != data["receiver_uin"]
        assert parse_yuan(data["amount"]) > 0
        kind_of_pair[frozenset((data["sender_uin"], data["receiver_uin"]))].add(data["kind"])
    assert all(len(kinds) == 1 for kinds in kind_of_pair.values())


def test_one_account_makes_no_transfers() -> None:
    events = list(generate(SimConfig(seed=3, accounts=1, months=2, transfer_ratio=1.0)))
    assert events and not [e for e in events if e.type == TRANSFER]


def test_dry_run_prints_json_lines(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from sim.__main__ import main

    assert main(["publish", "--dry-run", "--seed", "5", "--accounts", "3", "--months", "1",
                 "--end-month", "2026-01", "--refund-share", "0.5"]) == 0
    out = capsysbinary.readouterr().out
    lines = out.splitlines()
    assert lines
    for line in lines:
        raw = json.loads(line)
        assert EVENT_MODELS[raw["type"]].model_validate(raw["data"])
    assert out == stream_bytes(generate(SimConfig(seed=5, accounts=3, months=1,
                                                  end_month="2026-01", refund_share=0.5)))


def test_cli_refuses_a_bad_config(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.__main__ import main

    assert main(["publish", "--dry-run", "--end-month", "2026-13"]) == 2
    assert "end_month" in capsys.readouterr().err
