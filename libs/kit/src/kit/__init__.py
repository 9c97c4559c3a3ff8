"""Shared platform library: what every service needs the same way, and no domain code."""
