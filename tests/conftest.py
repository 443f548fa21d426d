"""Shared pytest fixtures. Group new fixtures under a heading like the one below."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fixture_site import FixtureSite, refused_url
from tsakit import Pki, make_pki

# --- the local fixture web site (tests/fixture_site/) ---------------------------------------------------
# Session-scoped: one server each for the whole run, started only if a test asks for it. The request log
# is shared, so a test that inspects it calls ``site.requests.clear()`` first.


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureSite]:
    """The fixture site over plain HTTP: ``.base``, ``.url(path)``, ``.requests``."""
    with FixtureSite() as running:
        yield running


@pytest.fixture(scope="session")
def tls_site() -> Iterator[FixtureSite]:
    """The same site over HTTPS with a fresh self-signed certificate, also in ``.cert_pem``."""
    with FixtureSite(tls=True) as running:
        yield running


@pytest.fixture
def dead_url() -> Iterator[str]:
    """An ``http://127.0.0.1:PORT/`` URL where every connection is refused."""
    with refused_url() as url:
        yield url


# --- local Time-Stamping Authorities (tests/tsakit.py) -------------------------------------------------
# One test PKI for the whole run (a root and a TSA certificate of every kind); each test starts the
# ``TsaServer(tsa_pki, kind=..., mode=...)`` it needs, on a loopback port, and stops it.


@pytest.fixture(scope="session")
def tsa_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("tsa-pki"))


# --- isolation -------------------------------------------------------------------------------------------
# Every test gets its own config folder (investigator keys) and no case from the environment, so no test
# ever reads or writes the real ~/.config/evidencekit.


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("EVIDENCEKIT_CASE", raising=False)


# --- a real case mixing every kind of item and outcome, exported once (tests/documentkit.py) -------------


@pytest.fixture(scope="session")
def mixed_bundle(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from documentkit import build_mixed_bundle

    folder = tmp_path_factory.mktemp("mixed-bundle")
    with pytest.MonkeyPatch.context() as patch, refused_url() as dead:
        patch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        yield build_mixed_bundle(folder, site.base.rstrip("/"), dead)
