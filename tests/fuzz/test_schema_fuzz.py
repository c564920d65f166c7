"""A bounded schema fuzz (schemathesis) of every API operation against the real server on loopback:
no 5xx, and every response as the OpenAPI document declares it (status codes, error bodies,
content types, headers). Bounded by FUZZ_EXAMPLES per operation (WHOSTHAT_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from whosthat.services import access, people  # noqa: E402
from whosthat.services.common import Context  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("WHOSTHAT_FUZZ_EXAMPLES", "8"))
# The contract: no 5xx; status codes, content types, headers and bodies as declared. Not
# positive_data_acceptance: schema-valid values that a business rule refuses (a control character in
# a name, an unknown person id) rightly get a declared 4xx.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.allow_header_conformance,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`whosthat serve`'s app under uvicorn in a thread, on a fresh home; stopped at the end."""
    import uvicorn

    from tests.store.backends import make_settings
    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    settings = make_settings("sqlite", tmp_path_factory.mktemp("fuzz"), password_max_failures=10**6)
    runtime = Runtime.from_settings(settings)
    app = create_app(settings, runtime)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    with Context.open(runtime) as ctx:
        _, key = access.create_api_key(ctx, "fuzz", ["admin"])
        people.create_person(ctx, employee_code="FZ-1", name="Fuzz", surname="Target")
    yield f"http://127.0.0.1:{port}", key
    server.should_exit = True
    thread.join(10)
    runtime.close()


def test_every_operation_keeps_its_contract(server):
    from hypothesis import given

    base, key = server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    calls = {"n": 0}
    failures: dict[str, str] = {}
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
            derandomize=True,
            database=None,
        )
        def run(case):
            calls["n"] += 1
            case.call_and_validate(base_url=base, headers={"X-API-Key": key}, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - one report for every operation
            failures[operation.label] = str(exc)[:1500]
    print(f"schema fuzz: {len(operations)} operations, {calls['n']} requests, {len(failures)} failing")
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
