"""The scraper as a hostile user meets it: DNS rebinding, redirects into an allowed
private host, IPv6 forms that embed a private IPv4 address, and refusal messages
that would probe internal DNS. No network: the resolver is patched, and a
"public" address is routed, at the socket, to a local fake site."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.util.connection as urllib3_connection

from competitors import scraper
from jobs.errors import InvalidInputError
from tests.competitors.conftest import FakeSite, html

PUBLIC = "93.184.216.34"  # a global address; the test routes it to `public`
_real_getaddrinfo = socket.getaddrinfo
_real_create_connection = urllib3_connection.create_connection


class Internet:
    """A patched resolver (answers per name, in turn) and a patched connect that
    sends connections for PUBLIC to the local "public" site."""

    def __init__(self, public: FakeSite) -> None:
        self.public = public
        self.answers: dict[str, list[list[str]]] = {}
        self.connected: list[tuple[str, int]] = []

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        answers = self.answers.get(str(host))
        if answers is None:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, int(port or 0))) for a in addresses]

    def create_connection(self, address: Any, *args: Any, **kwargs: Any) -> Any:
        host, port = address
        self.connected.append((host, port))
        if host == PUBLIC:
            address = ("127.0.0.1", self.public.httpd.server_address[1])
        return _real_create_connection(address, *args, **kwargs)


@pytest.fixture
def internal() -> Iterator[FakeSite]:
    """An internal service the scraper must never reach."""
    fake = FakeSite()
    fake.route("GET", "/", lambda rec: html("<title>INTERNAL SECRET</title>"))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def internet(site: FakeSite, monkeypatch: Any) -> Internet:
    net = Internet(site)
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(urllib3_connection, "create_connection", net.create_connection)
    return net


def _port(fake: FakeSite) -> int:
    return int(fake.httpd.server_address[1])


def test_a_name_that_rebinds_to_loopback_is_fetched_from_the_checked_address(
    internet, site, internal
):
    # Public for the check, then 127.0.0.1 for anyone who asks again.
    internet.answers["rebind.example"] = [[PUBLIC], ["127.0.0.1"]]
    url = f"http://rebind.example:{_port(internal)}/"

    page = scraper.scrape(url)

    assert internal.requests == []
    assert "INTERNAL" not in page["title"] and page["title"].startswith("Acme Corp")
    assert internet.connected == [(PUBLIC, _port(internal))]
    assert site.requests[0].headers["host"] == f"rebind.example:{_port(internal)}"
    assert page["final_url"] == url


def test_every_redirect_hop_is_pinned_too(internet, site, internal):
    site.routes.insert(0, ("GET", "/away", lambda rec: html(
        "", status=302, Location=f"http://hop.example:{_port(internal)}/")))
    internet.answers["start.example"] = [[PUBLIC]]
    internet.answers["hop.example"] = [[PUBLIC], ["127.0.0.1"]]

    page = scraper.scrape(f"http://start.example:{_port(internal)}/away")

    assert internal.requests == []
    assert page["title"].startswith("Acme Corp")
    assert [host for host, _ in internet.connected] == [PUBLIC, PUBLIC]


def test_a_public_site_cannot_redirect_into_an_allowed_private_host(
    internet, site, internal, settings
):
    settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = ["127.0.0.1", "localhost"]
    internet.answers["evil.example"] = [[PUBLIC]]
    for target in (f"http://127.0.0.1:{_port(internal)}/", f"http://localhost:{_port(internal)}/"):
        site.routes.insert(0, ("GET", "/into", lambda rec, target=target: html(
            "", status=302, Location=target)))
        with pytest.raises(InvalidInputError, match="is not allowed"):
            scraper.scrape(f"http://evil.example:{_port(site)}/into")
        site.routes = [r for r in site.routes if r[1] != "/into"]

    assert internal.requests == []


def test_the_allowed_host_itself_and_its_own_redirects_still_work(site, settings):
    settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]

    page = scraper.scrape(f"{site.url}/hop")

    assert page["final_url"] == f"{site.url}/" and page["title"].startswith("Acme Corp")


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254 (cloud metadata)
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.5",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:192.168.1.1",
    "::1", "fe80::1", "fc00::1", "10.0.0.5", "169.254.169.254", "100.64.0.1",
])
def test_addresses_that_are_or_embed_a_private_ipv4_are_refused(internet, address):
    internet.answers["inside.example"] = [[address]]

    with pytest.raises(InvalidInputError) as refused:
        scraper.scrape("http://inside.example/")

    assert "not allowed" in str(refused.value)
    assert address not in str(refused.value)
    assert not re.search(r"\d+\.\d+\.\d+\.\d+|[0-9a-f]*::", str(refused.value))
    assert internet.connected == []


def test_one_private_address_among_public_ones_is_refused(internet):
    internet.answers["mixed.example"] = [[PUBLIC, "10.0.0.5"]]

    with pytest.raises(InvalidInputError, match="not allowed"):
        scraper.scrape("http://mixed.example/")
    assert internet.connected == []


@pytest.mark.parametrize(("address", "public"), [
    ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
    ("2002:5db8:d822::1", True),  # 6to4 of 93.184.216.34
    ("2606:4700::1111", True),
    ("93.184.216.34", True),
    ("::ffff:10.0.0.1", False),
    ("64:ff9b::c0a8:101", False),
    ("224.0.0.1", False),
])
def test_is_public_address(address, public):
    assert scraper.is_public_address(ipaddress.ip_address(address)) is public


@pytest.fixture
def tls_site(monkeypatch: Any) -> Iterator[tuple[FakeSite, list[str], Any]]:
    """An HTTPS site on 127.0.0.1 whose certificate a test chooses; the CA is trusted
    through REQUESTS_CA_BUNDLE, and the names the clients asked for (SNI) recorded."""
    import ssl

    import trustme

    ca = trustme.CA()
    fake = FakeSite()
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment]

    def serve_as(name: str) -> None:
        ca.issue_cert(name).configure_cert(context)

    fake.httpd.socket = context.wrap_socket(fake.httpd.socket, server_side=True)
    with ca.cert_pem.tempfile() as ca_file:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
        fake.start()
        yield fake, names, serve_as
        fake.stop()


def test_over_https_the_pinned_connection_keeps_the_server_name_and_checks_the_certificate(
    tls_site, monkeypatch
):
    fake, names, serve_as = tls_site
    serve_as("secure.example")
    net = Internet(fake)
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(urllib3_connection, "create_connection", net.create_connection)
    net.answers["secure.example"] = [[PUBLIC], ["127.0.0.1"]]

    page = scraper.scrape(f"https://secure.example:{_port(fake)}/")

    assert page["title"].startswith("Acme Corp")
    assert names == ["secure.example"]
    assert net.connected == [(PUBLIC, _port(fake))]


def test_over_https_a_certificate_for_another_name_is_refused(tls_site, monkeypatch):
    fake, names, serve_as = tls_site
    serve_as("someone-else.example")
    net = Internet(fake)
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)
    monkeypatch.setattr(urllib3_connection, "create_connection", net.create_connection)
    net.answers["secure.example"] = [[PUBLIC]]

    with pytest.raises(InvalidInputError, match="could not be reached"):
        scraper.scrape(f"https://secure.example:{_port(fake)}/")
    assert fake.requests == []
