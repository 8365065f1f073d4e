"""serumscope: crawl vitamin C serum listings, score them with evidence, publish with Datasette."""

__version__ = "0.1.0"
