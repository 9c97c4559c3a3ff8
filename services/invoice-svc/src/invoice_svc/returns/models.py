"""Tables of returns (filled in by its implementation)."""
