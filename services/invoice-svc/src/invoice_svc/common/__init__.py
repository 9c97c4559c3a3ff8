"""Helpers shared by invoice-svc's domain packages."""
