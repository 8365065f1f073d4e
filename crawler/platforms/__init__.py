"""Base spiders, one per shop platform: ``shopify``, ``woocommerce``, ``sitemap``."""
