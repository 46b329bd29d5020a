"""Every error class is reachable, carries its context, and never shows a
secret."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable, Type

import pytest

import jobstop
from jobstop import errors

from conftest import running_ids


def raises(kind: Type[jobstop.Error], call: Callable[[], Awaitable[object]]) -> jobstop.Error:
    async def main() -> object:
        return await call()

    with pytest.raises(kind) as info:
        asyncio.run(main())
    err = info.value
    assert type(err) is kind, repr(err)
    return err


def no_retries(sims: jobstop.sim.Simulators) -> jobstop.Controller:
    return jobstop.Controller("amperity", client={"retries": 0}, **sims.settings["amperity"])


def test_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(jobstop, name)
        assert issubclass(cls, jobstop.Error)
        assert cls is getattr(errors, name)
    assert issubclass(jobstop.InvalidInput, ValueError)
    assert issubclass(jobstop.Timeout, TimeoutError)
    assert issubclass(jobstop.TransportError, ConnectionError)


def test_not_found_carries_the_context(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    err = raises(jobstop.NotFound, lambda: ctrl.status("wf-20990101-00000-nothere"))
    assert err.kind == "not_found"
    assert err.vendor == "amperity"
    assert err.operation == "status"
    assert err.run_id == "wf-20990101-00000-nothere"
    assert err.http_status == 404
    assert err.retryable is False
    assert "404" in str(err) and "\n" not in str(err)


def test_vendor_code_and_request_id(sims: jobstop.sim.Simulators) -> None:
    ctrl = sims.controller("dataarts")
    err = raises(jobstop.NotFound, lambda: ctrl.status("nothere"))
    assert err.vendor_code == "DLF.0100"
    assert err.request_id


@pytest.mark.parametrize(
    "status,kind,retryable",
    [
        (403, jobstop.PermissionDenied, False),
        (429, jobstop.RateLimited, True),
        (503, jobstop.Unavailable, True),
    ],
)
def test_http_statuses(
    amperity: jobstop.sim.Simulators, status: int, kind: Type[jobstop.Error], retryable: bool
) -> None:
    rid = running_ids(amperity, "amperity")[0]
    amperity.inject("amperity", status=status)
    err = raises(kind, lambda: no_retries(amperity).status(rid))
    assert err.http_status == status
    assert err.retryable is retryable


def test_wrong_token_is_an_auth_error_without_the_token(amperity: jobstop.sim.Simulators) -> None:
    rid = running_ids(amperity, "amperity")[0]
    secret = "not-the-token-s3cr3t-value"
    settings = dict(amperity.settings["amperity"], token=secret)
    ctrl = jobstop.Controller.from_settings("amperity", settings)
    err = raises(jobstop.AuthError, lambda: ctrl.status(rid))
    assert err.http_status == 401
    assert secret not in str(err) and secret not in repr(err)
    assert secret not in repr(ctrl)


def test_secrets_are_absent_from_every_repr_and_error(sims: jobstop.sim.Simulators) -> None:
    secrets = [
        value
        for vendor, settings in sims.settings.items()
        for key, value in settings.items()
        if key in ("token", "password", "sk", "client_secret")
    ]
    assert len(secrets) >= 4
    registry = sims.registry()
    shown = [repr(registry)]
    for vendor in sims.vendors:
        ctrl = registry[vendor]
        shown.append(repr(ctrl))
        shown.append(repr(ctrl.blocking()))
        sims.inject(vendor, status=500)
        try:
            ctrl = jobstop.Controller.from_settings(vendor, sims.settings[vendor], client={"retries": 0})
            asyncio.run(ctrl.list())
        except jobstop.Error as e:
            shown.extend([str(e), repr(e)])
        else:
            pytest.fail(f"{vendor}: a 500 did not raise")
        sims.clear_faults(vendor)
    for text in shown:
        for secret in secrets:
            assert secret not in text, text


def test_invalid_input_before_anything_is_sent(sims: jobstop.sim.Simulators) -> None:
    ctrl = sims.controller("chorus")
    sims.clear_requests("chorus")
    err = raises(jobstop.InvalidInput, lambda: ctrl.status("not-a-number"))
    assert err.operation == "status" and err.vendor == "chorus"
    raises(jobstop.InvalidInput, lambda: ctrl.status(""))
    raises(jobstop.InvalidInput, lambda: ctrl.list(limit=0))
    raises(jobstop.InvalidInput, lambda: ctrl.list(state="sleeping"))
    raises(jobstop.InvalidInput, lambda: ctrl.stop_and_wait("1000001", timeout=-1))
    assert sims.request_count("chorus") == 0


def test_conflict_and_refused_stops(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    first, second = running_ids(amperity, "amperity")[:2]
    amperity.inject("amperity", status=409, method="POST", path_prefix="/workflow/runs/", times=1)
    err = raises(jobstop.Conflict, lambda: ctrl.stop(first))
    assert err.http_status == 409 and err.operation == "stop"
    amperity.inject("amperity", status=400, method="POST", path_prefix="/workflow/runs/", times=1)
    err = raises(jobstop.Refused, lambda: ctrl.stop(second))
    assert err.run_id == second


def test_unsupported_force_stop(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]
    err = raises(jobstop.Unsupported, lambda: ctrl.stop(rid, force=True))
    assert err.operation == "stop"
    assert amperity.stop_requests("amperity") == 0


def test_invalid_response(amperity: jobstop.sim.Simulators) -> None:
    rid = running_ids(amperity, "amperity")[0]
    amperity.inject("amperity", html=True)
    err = raises(jobstop.InvalidResponse, lambda: amperity.controller("amperity").status(rid))
    assert err.http_status == 200


def test_timeout_of_a_wait(amperity: jobstop.sim.Simulators) -> None:
    rid = running_ids(amperity, "amperity")[0]
    ctrl = amperity.controller("amperity")
    err = raises(jobstop.Timeout, lambda: ctrl.stop_and_wait(rid, timeout=0.05, min_interval=0.01))
    assert err.operation == "wait" and err.retryable
    assert err.last_state == "stopping"


def test_transport_error() -> None:
    ctrl = jobstop.Controller(
        "amperity",
        base_url="http://127.0.0.1:1/api",
        tenant="acme",
        token="t0ken-value",
        client={"retries": 0},
    )
    err = raises(jobstop.TransportError, lambda: ctrl.status("wf-20260101-00000-abcdef"))
    assert err.retryable
    assert "t0ken-value" not in str(err)


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(jobstop.ConfigError) as info:
        jobstop.Controller("amperity", tenant="acme")
    assert info.value.kind == "config"
    with pytest.raises(jobstop.ConfigError):
        jobstop.Controller("nosuchvendor", base_url="http://127.0.0.1:1")
    bad = tmp_path / "jobstop.toml"
    bad.write_text('[accounts.prod]\nvendor = "amperity"\ntenant = "acme"\ntoken = "x"\ncolour = "red"\n')
    with pytest.raises(jobstop.ConfigError) as info:
        jobstop.Registry.from_toml(bad)
    assert "colour" in str(info.value)


def test_endless_listing(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")

    async def main() -> None:
        seen = []
        with pytest.raises(jobstop.EndlessListing) as info:
            async for run in ctrl.list_all(page_size=2, max_pages=2):
                seen.append(run)
        assert len(seen) == 4  # the runs of the pages read come first
        assert info.value.operation == "list"

    asyncio.run(main())
