"""Ingestion: one pure mapper per network (``twarc``, ``twitter_archive``,
``mastodon``, ``bluesky``, ``reddit``, ``csv_events``), format detection
(``formats``), file access (``sources``) and the load loop (``pipeline``)."""
