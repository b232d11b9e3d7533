"""The web dashboard: server-rendered pages under ``/ui`` of ``renown serve``.

Profile (score gauge, history, contribution breakdown, topics, what changed
this week), discovery for brands (search, filters, compare, CSV export) and an
admin page (sources, ingest and scoring runs, quarantine). Everything is
served from the package — templates, one stylesheet, SVG drawn on the server —
so it works offline. Sign-in takes an API key and keeps it in an HTTP-only,
same-site cookie; the roles are the API's.
"""
