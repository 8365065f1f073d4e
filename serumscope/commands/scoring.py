"""Commands: scoring."""

commands = []
