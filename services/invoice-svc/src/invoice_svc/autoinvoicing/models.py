"""Tables of autoinvoicing (filled in by its implementation)."""
