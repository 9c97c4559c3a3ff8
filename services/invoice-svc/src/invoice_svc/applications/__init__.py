"""Invoice applications: by records, by monthly bills, by amount; preview; reservation."""
