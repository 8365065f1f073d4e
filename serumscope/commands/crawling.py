"""Commands: crawling."""

commands = []
