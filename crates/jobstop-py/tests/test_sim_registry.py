"""jobstop.sim.start and the registry (environment, TOML file, dict)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import jobstop


def test_start_chosen_vendors() -> None:
    with jobstop.sim.start(["chorus", "amperity"], running=2, finished=1) as sims:
        assert sims.vendors == ["amperity", "chorus"]
        assert set(sims.settings) == {"amperity", "chorus"}
        assert sims.settings["amperity"]["base_url"] == sims.base_url("amperity")
        assert sims.base_url("chorus").startswith("http://127.0.0.1:")
        assert len(sims.ids("chorus")) == 3
        new = sims.insert_running("amperity")
        assert sims.raw_state("amperity", new) == "running"
        run = asyncio.run(sims.controller("amperity").status(new))
        assert run.id == new
        assert sims.requests("amperity")[-1].status == 200
        with pytest.raises(jobstop.InvalidInput):
            sims.ids("dataarts")  # not started


def test_unknown_vendor_is_refused() -> None:
    with pytest.raises(jobstop.InvalidInput, match="nosuch"):
        jobstop.sim.start(["nosuch"])


def test_shutdown_stops_serving() -> None:
    sims = jobstop.sim.start(["amperity"])
    ctrl = jobstop.Controller("amperity", client={"retries": 0}, **sims.settings["amperity"])
    sims.shutdown()
    with pytest.raises(jobstop.TransportError):
        asyncio.run(ctrl.list())


def test_same_seed_same_runs() -> None:
    with jobstop.sim.start(["chorus"], seed=7, seeded_epoch=True) as a:
        with jobstop.sim.start(["chorus"], seed=7, seeded_epoch=True) as b:
            assert a.ids("chorus") == b.ids("chorus")


def test_registry_from_env(sims: jobstop.sim.Simulators, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in sims.env.items():
        monkeypatch.setenv(key, value)
    registry = jobstop.Registry.from_env()
    assert registry.names() == sorted(sims.vendors)
    for vendor in sims.vendors:
        ctrl = registry[vendor]
        assert ctrl.name == vendor and ctrl.vendor == vendor
        assert len(asyncio.run(ctrl.list())) > 0
    with pytest.raises(KeyError, match="configured: amperity, centurylink"):
        registry["prod"]


def test_registry_from_toml(
    amperity: jobstop.sim.Simulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = amperity.settings["amperity"]
    monkeypatch.setenv("PROD_AMPERITY_TOKEN", s["token"])
    path = tmp_path / "jobstop.toml"
    path.write_text(
        "[accounts.prod]\n"
        'vendor = "amperity"\n'
        f'base_url = "{s["base_url"]}"\n'
        f'tenant = "{s["tenant"]}"\n'
        'token_env = "PROD_AMPERITY_TOKEN"\n'
        "[accounts.prod.client]\n"
        "retries = 1\n"
    )
    path.chmod(0o600)
    registry = jobstop.Registry.from_toml(path)
    assert list(registry) == ["prod"] and "prod" in registry
    ctrl = registry["prod"]
    assert ctrl.name == "prod" and ctrl.vendor == "amperity"
    assert len(asyncio.run(ctrl.list())) > 0
    assert s["token"] not in repr(registry) + repr(ctrl)
    with pytest.raises(jobstop.ConfigError):
        jobstop.Registry.from_toml(tmp_path / "missing.toml")


def test_registry_from_controllers(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    registry = jobstop.Registry({"a": ctrl})
    assert registry["a"] is ctrl and registry.controllers() == [ctrl]
