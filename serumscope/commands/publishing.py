"""Commands: publishing."""

commands = []
