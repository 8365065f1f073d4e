"""Shared fixtures. Tests never leave 127.0.0.1."""
