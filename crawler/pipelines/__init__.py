"""Item pipelines, one job each, ordered in crawler/settings.py: normalise → relevance → input hash →
store."""
