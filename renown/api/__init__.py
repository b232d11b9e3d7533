"""The HTTP API (``renown serve``): FastAPI, one router per resource.

Every request carries an API key (``Authorization: Bearer rk_…`` or
``X-API-Key``); roles are checked per route; each key is rate-limited. Errors
are JSON bodies ``{"error": {"code", "message"}}`` — never a stack trace.
Needs ``pip install 'renown[web]'``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``create_app`` loads FastAPI on first use, so the API's tables (``renown.api.keys``)
    import without the extra: the schema migrations need every table."""
    if name != "create_app":
        raise AttributeError(f"module 'renown.api' has no attribute {name!r}")
    try:
        import fastapi  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised by the CLI's message
        from renown.errors import RenownError

        raise RenownError("the HTTP API needs its extra: pip install 'renown[web]'") from exc
    from renown.api.app import create_app

    return create_app


__all__ = ["create_app"]
