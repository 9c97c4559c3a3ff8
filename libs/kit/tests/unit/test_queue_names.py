"""Queue names: fixed on the system's exchange, namespaced on any other one."""

from kit.settings import ServiceSettings


def test_queue_names_are_namespaced_off_the_system_exchange() -> None:
    assert ServiceSettings().queue_name("invoice-svc.ledger") == "invoice-svc.ledger"
    other = ServiceSettings(events_exchange="staging.events")
    assert other.queue_name("invoice-svc.ledger") == "staging.events.invoice-svc.ledger"
    explicit = ServiceSettings(events_exchange="staging.events", queue_prefix="t1.")
    assert explicit.queue_name("invoice-svc.accounts") == "t1.invoice-svc.accounts"
