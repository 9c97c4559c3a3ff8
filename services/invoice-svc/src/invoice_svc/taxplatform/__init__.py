"""The tax platform (数电 issuing, red-letter forms) behind a provider-neutral interface."""
