"""Commands: scheduling."""

commands = []
