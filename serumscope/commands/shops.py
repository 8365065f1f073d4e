"""Commands: shops."""

commands = []
