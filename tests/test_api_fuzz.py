"""Property-based fuzzing of the HTTP API's OpenAPI schema (schemathesis strategies driven by hypothesis):
no request, however odd, gets a 5xx — with a valid admin key, so every route is reached."""

from __future__ import annotations

import schemathesis
from fuzzing import fuzz_settings
from hypothesis import HealthCheck, given
from worlds import scored_world

from renown.api import create_app
from renown.api.keys import create_key


def test_no_generated_request_gets_a_server_error(tmp_path) -> None:
    store = scored_world(tmp_path, accounts=150, days=4, seed=17)
    app = create_app(store, rate=1e9, burst=1e9)
    key = create_key(store, "fuzz", "admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    failures = []
    for operation in operations:
        if operation.method.upper() == "DELETE":
            continue  # erasure is destructive by design; the privacy tests cover it

        @fuzz_settings(30, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        check()
    app.state.renown.close()  # let the background jobs the fuzzer started end
    assert failures == []
