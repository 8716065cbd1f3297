"""Read a competitor's website: one page, with a timeout, a size cap and clear errors.

`scrape(url)` returns JSON-able data (title, description, headings, text) for
the analysis step. Failures are classified for the job platform:

- the host does not resolve, refuses the connection, or answers 404/410:
  `InvalidInputError` (the company URL is wrong; retrying cannot help);
- the site does not answer within the timeout, or answers 5xx/429:
  `RetryableJobError` with a message that says so;
- the site answers but refuses to be read (401/403, other 4xx) or is not a
  web page: no error, the result says why it is empty and the analysis goes
  on with news and reviews.

URLs that resolve to private, loopback, link-local or otherwise non-global
addresses are refused (a user-supplied URL must not reach internal services),
including IPv6 forms that embed such an IPv4 address (IPv4-mapped and
IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). The
refusal says "not allowed" and never names the address a name resolved to
(that would let a user probe internal DNS).

No DNS rebinding: each hop's name is resolved once, the addresses checked, and
the connection made to exactly the checked address (`_PinnedAdapter`: the URL
keeps its name for the Host header and, over HTTPS, for the TLS server name
and certificate check). Redirects are followed by hand, each hop resolved,
checked and pinned the same way.

COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS lets the URL the user gave reach a
private address (a site on the local network, the tests' fake site) and
redirects within that same host; a redirect to any other host is checked as a
public site, so a public site cannot redirect into an allowed private host.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from jobs.errors import InvalidInputError, RetryableJobError

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe"}
_BLOCK_TAGS = {"p", "div", "li", "section", "article", "br", "tr", "h1", "h2", "h3", "h4",
               "header", "footer", "main", "td", "blockquote"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


class _PageParser(HTMLParser):
    """Title, meta description, headings and visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.description = ""
        self.headings: list[str] = []
        self._text: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            name = (values.get("name") or values.get("property") or "").lower()
            if name in ("description", "og:description") and not self.description:
                self.description = values.get("content", "").strip()
        elif tag in ("h1", "h2", "h3"):
            self._heading = []
        if tag in _BLOCK_TAGS:
            self._text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            heading = _SPACES.sub(" ", "".join(self._heading)).strip()
            if heading and heading not in self.headings:
                self.headings.append(heading[:200])
            self._heading = None
        if tag in _BLOCK_TAGS:
            self._text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
            return
        if self._heading is not None:
            self._heading.append(data)
        self._text.append(data)

    @property
    def text(self) -> str:
        joined = _SPACES.sub(" ", "".join(self._text))
        lines = [line.strip() for line in joined.split("\n")]
        return _LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


# IPv6 ranges whose addresses carry an IPv4 address in their last 32 bits
# (6to4 carries it in bits 16-48: see _embedded_ipv4).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NOT_ALLOWED = (
    "Company URL {url} is not allowed: it does not point at a public website "
    "(only public websites are analysed)"
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in net for net in _NAT64) or (
        address in _IPV4_COMPATIBLE and int(address) > 1  # not :: nor ::1
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is a public one, looking inside IPv6 forms that embed IPv4
    (Python 3.11's `is_global` does not)."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return embedded.is_global and not embedded.is_multicast
    return True


def _resolve(url: str, *, allow_private: bool) -> str:
    """The one address to connect to for `url`, after checking every address the
    name resolves to. Refuses a name with any non-public address unless
    `allow_private` (a private-hosts entry the user's URL named)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInputError(f"Company URL must be an http(s) address, not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidInputError(
            f"Company URL doesn't exist: {host} does not resolve ({exc.strerror})"
        ) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise InvalidInputError(f"Company URL doesn't exist: {host} does not resolve")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise InvalidInputError(NOT_ALLOWED.format(url=url))
    return str(addresses[0])


def _allowed_private(url: str, first_url: str) -> bool:
    """The allowlist covers the host of the URL the user gave, and redirects to that
    same host; not where a redirect leads elsewhere."""
    allowed = {h.lower() for h in settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS}
    host = (urlsplit(url).hostname or "").lower()
    return host in allowed and host == (urlsplit(first_url).hostname or "").lower()


class _PinnedAdapter(HTTPAdapter):
    """Connects to one checked address whatever the URL's name resolves to now.

    The request goes to the address; the Host header keeps the name, and over
    HTTPS so do the TLS server name (SNI) and the certificate's hostname check.
    """

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(max_retries=0)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        literal = f"[{self._address}]" if ":" in self._address else self._address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        request.headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        request.url = urlunsplit(parts._replace(netloc=netloc))
        pool_kw = self.poolmanager.connection_pool_kw
        if parts.scheme == "https":
            pool_kw["server_hostname"] = host
            pool_kw["assert_hostname"] = host
        else:
            pool_kw.pop("server_hostname", None)
            pool_kw.pop("assert_hostname", None)
        try:
            response = super().send(request, *args, **kwargs)
        finally:
            request.url = urlunsplit(parts)
        response.url = urlunsplit(parts)
        return response


def _get(session: requests.Session, url: str, timeout: float) -> requests.Response:
    try:
        return session.get(url, timeout=timeout, stream=True, allow_redirects=False)
    except requests.Timeout as exc:
        raise RetryableJobError(
            f"The company website {url} did not answer within {timeout:g} s"
        ) from exc
    except requests.ConnectionError as exc:
        raise InvalidInputError(
            f"The company website {url} could not be reached (the site is down or "
            f"does not exist): {_reason(exc)}"
        ) from exc
    except requests.RequestException as exc:
        raise InvalidInputError(f"The company website {url} could not be read: {exc}") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Connection reset"):
        if marker in text:
            return marker.lower()
    return text[:200]


def _read_capped(response: requests.Response, *, max_bytes: int, deadline: float,
                 timeout: float, url: str) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=16_384):
            chunks.append(chunk)
            size += len(chunk)
            if size >= max_bytes:
                return b"".join(chunks)[:max_bytes], True
            if time.monotonic() > deadline:
                # A site that trickles its page: keep what arrived in time.
                return b"".join(chunks), True
    except (requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        if not chunks:
            raise RetryableJobError(
                f"The company website {url} did not answer within {timeout:g} s"
            ) from exc
        return b"".join(chunks), True
    finally:
        response.close()
    return b"".join(chunks), False


def _charset(response: requests.Response) -> str:
    # Only a declared charset: requests assumes ISO-8859-1 for any text/* without
    # one, which garbles the UTF-8 that most sites send.
    match = _CHARSET.search(response.headers.get("content-type", ""))
    if match:
        try:
            "".encode(match.group(1))
            return match.group(1)
        except LookupError:
            pass
    return "utf-8"


def scrape(url: str) -> dict[str, Any]:
    timeout = float(settings.COMPETITORS_SCRAPE_TIMEOUT_SECONDS)
    max_bytes = int(settings.COMPETITORS_SCRAPE_MAX_BYTES)
    deadline = time.monotonic() + timeout * 3
    session = requests.Session()
    session.headers["User-Agent"] = settings.COMPETITORS_SCRAPE_USER_AGENT
    session.headers["Accept"] = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5"
    current = url
    with session:
        for _hop in range(int(settings.COMPETITORS_SCRAPE_MAX_REDIRECTS) + 1):
            address = _resolve(current, allow_private=_allowed_private(current, url))
            previous = session.adapters.get("http://")
            adapter = _PinnedAdapter(address)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if isinstance(previous, _PinnedAdapter):
                previous.close()  # the previous hop's pool (its response is closed)
            response = _get(session, current, timeout)
            if response.is_redirect and response.headers.get("location"):
                response.close()
                current = urljoin(current, response.headers["location"])
                continue
            break
        else:
            raise InvalidInputError(f"The company website {url} redirects too many times")
        return _page(url, current, response, max_bytes=max_bytes, deadline=deadline,
                     timeout=timeout)


def _page(url: str, final_url: str, response: requests.Response, *, max_bytes: int,
          deadline: float, timeout: float) -> dict[str, Any]:
    status = response.status_code
    base = {"url": url, "final_url": final_url, "status": status, "ok": False, "title": "",
            "description": "", "headings": [], "text": "", "truncated": False, "bytes": 0}
    if status in (404, 410):
        response.close()
        raise InvalidInputError(f"Company URL doesn't exist: {final_url} answered HTTP {status}")
    if status == 429 or status >= 500:
        response.close()
        raise RetryableJobError(f"The company website {final_url} answered HTTP {status}")
    if status >= 400:
        response.close()
        return {**base, "error": f"The website refused to be read (HTTP {status})"}
    content_type = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if content_type not in _HTML_TYPES and content_type != "text/plain":
        response.close()
        return {**base, "error": f"Not a web page ({content_type})"}
    body, truncated = _read_capped(response, max_bytes=max_bytes, deadline=deadline,
                                   timeout=timeout, url=final_url)
    text = body.decode(_charset(response), errors="replace")
    max_chars = int(settings.COMPETITORS_SCRAPE_MAX_TEXT_CHARS)
    if content_type == "text/plain":
        return {**base, "ok": True, "text": text[:max_chars], "truncated": truncated,
                "bytes": len(body)}
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    page_text = parser.text
    return {
        **base,
        "ok": True,
        "title": _SPACES.sub(" ", parser.title).strip()[:300],
        "description": parser.description[:1000],
        "headings": parser.headings[:20],
        "text": page_text[:max_chars],
        "truncated": truncated or len(page_text) > max_chars,
        "bytes": len(body),
    }
