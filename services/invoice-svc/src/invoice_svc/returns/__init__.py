"""Invoice statuses and returns (退票): the status machine, return requests and red-letter
(红字) rules for fully-digital, legacy electronic and legacy paper invoices (INV-REQ-20..26)."""
