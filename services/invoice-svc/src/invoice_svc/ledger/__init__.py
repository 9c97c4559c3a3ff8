"""The consumption ledger: records made from billing-core events, balances, monthly bills."""
