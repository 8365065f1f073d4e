"""Custom spiders: one small file per odd shop, subclassing a platform base in crawler/platforms/ and
overriding a hook (``pre_process_data``, ``post_process_item``). Its ``name`` is the ``platform`` a
sites-file shop uses."""
