"""Keep web pages away from a server that answers without a key: DNS rebinding and cross-site requests.

A server on loopback with keys not required (what `modelbay serve` does by default) answers anyone who
can connect, and a browser visiting any web site can connect: a page on evil.example can send requests to
``127.0.0.1:8000`` (cross-site), or point evil.example's DNS at 127.0.0.1 so its requests count as
same-origin and it can read the answers (DNS rebinding). Two checks, as pure ASGI middleware:

- **Host** must be ``localhost``, an IP address, or match ``allowed_hosts``. A rebinding page's requests
  carry the attacker's name in Host. An IP address cannot be rebound: a page whose Host is an address was
  served from that address, so addresses (LAN ones included) pass.
- **Origin**, when present, must be the request's own origin (scheme://Host) or in ``allowed_origins``.
  Browsers send Origin on every cross-origin request and on same-origin POSTs; curl and SDKs send none,
  so they are not affected, and neither is the Swagger UI at /docs (same-origin).

Both apply whenever keys are not required. With keys required, a browser cannot attach the bearer key to a
forged request, so they apply only if ``allowed_hosts`` (both checks) or ``allowed_origins`` (Origin) is set.
``/healthz`` and ``/readyz`` are exempt: load balancers probe them under any name, and they reveal nothing.
"""

from __future__ import annotations

import ipaddress
import re

from ..core.errors import ModelbayError
from .asgi_errors import request_header, route_path, send_error

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAME_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")
_ORIGIN_RE = re.compile(r"^([a-z][a-z0-9+.-]*)://([^/?#@\s]+)$")


class HostNotAllowed(ModelbayError):
    status_code = 403
    code = "host_not_allowed"


class OriginNotAllowed(ModelbayError):
    status_code = 403
    code = "origin_not_allowed"


def split_host(authority: str) -> tuple[str, int | None]:
    """``host[:port]`` as a Host header (or an Origin) writes it -> (lower-case host, port or None).

    Raises ValueError for anything else (userinfo, paths, bad ports), so odd headers are refused, not guessed at.

    >>> split_host("[::1]:8000"), split_host("LocalHost."), split_host("127.0.0.1:18081")
    (('::1', 8000), ('localhost', None), ('127.0.0.1', 18081))
    """
    text = authority.strip().lower()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"unclosed '[' in {authority!r}")
        ipaddress.IPv6Address(host)  # raises ValueError if it is not one
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
        if not _NAME_RE.match(host):
            raise ValueError(f"not a host name: {authority!r}")
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and 0 < int(rest[1:]) < 65536):
        raise ValueError(f"not a host[:port]: {authority!r}")
    return host.rstrip("."), int(rest[1:]) if rest else None


def split_origin(origin: str) -> tuple[str, str, int | None]:
    """``scheme://host[:port]`` -> (scheme, host, port or None); ValueError for anything else (``null`` too).

    >>> split_origin("http://LOCALHOST:8000")
    ('http', 'localhost', 8000)
    """
    match = _ORIGIN_RE.match(origin.strip().lower())
    if match is None:
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    scheme, authority = match.groups()
    return (scheme, *split_host(authority))


def normalize_origin(origin: str) -> str:
    """An origin as the checks compare it: lower case, no default port. ``*`` stays ``*``.

    >>> normalize_origin("HTTPS://Tools.Example.com:443/")
    'https://tools.example.com'
    """
    if origin.strip() == "*":
        return "*"
    scheme, host, port = split_origin(origin.strip().rstrip("/"))
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port not in (None, _DEFAULT_PORTS.get(scheme)) else "")


def normalize_allowed_host(entry: str) -> str:
    """An ``allowed_hosts`` entry: a host name (any port), ``*.example.com`` (its subdomains) or ``*`` (any).

    >>> normalize_allowed_host("ML.example.com:8000"), normalize_allowed_host("*.Example.com")
    ('ml.example.com', '*.example.com')
    """
    text = entry.strip().lower()
    if text == "*":
        return text
    wildcard = text.startswith("*.")
    try:
        host, _ = split_host(text[2:] if wildcard else text)
    except ValueError:
        raise ValueError(f"allowed_hosts entry {entry!r} is not a host name: write e.g. 'modelbay.internal' or "
                         "'*.example.com', without scheme or path") from None
    return f"*.{host}" if wildcard else host


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether a (split, lower-case) host may be served: localhost, any IP address, or an allowed_hosts match."""
    if host == "localhost" or "*" in allowed_hosts or host in allowed_hosts:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return any(entry.startswith("*.") and host.endswith(entry[1:]) for entry in allowed_hosts)


def same_origin(origin: str, host_header: str | None) -> bool:
    """Whether ``origin`` names the server the request was sent to (its Host; no port = the scheme's default)."""
    if host_header is None:
        return False
    try:
        scheme, origin_host, origin_port = split_origin(origin)
        host, port = split_host(host_header)
    except ValueError:
        return False
    default = _DEFAULT_PORTS.get(scheme)
    return origin_host == host and (origin_port or default) == (port or default)


class BrowserGuard:
    """Refuse (403) requests whose Host or Origin says a web page sent them; see the module docstring."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] = (), allowed_origins: frozenset[str] = frozenset(),
                 check_host: bool = True, check_origin: bool = True) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins
        self.check_host = check_host
        self.check_origin = check_origin

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or route_path(scope) in EXEMPT_PATHS:
            return await self.app(scope, receive, send)
        error = self.problem(request_header(scope, b"host"), request_header(scope, b"origin"))
        if error is not None:
            return await send_error(scope, send, error)
        await self.app(scope, receive, send)

    def problem(self, host: str | None, origin: str | None) -> ModelbayError | None:
        """The error to answer with, or None when the request may pass. No Host (HTTP/1.0) is not a browser."""
        if self.check_host and host is not None:
            try:
                name, _ = split_host(host)
            except ValueError:
                return HostNotAllowed(f"the Host header {host[:100]!r} is not a valid host[:port]",
                                      hint="send the server's name or address, e.g. Host: 127.0.0.1:8000")
            if not host_allowed(name, self.allowed_hosts):
                return HostNotAllowed(
                    f"requests for host {name!r} are refused: this server answers only to localhost, IP addresses "
                    "and allowed_hosts, so that a web page that points its own domain at this machine "
                    "(DNS rebinding) cannot use it",
                    hint=f"if {name!r} is this server's name, allow it: `allowed_hosts: [{name}]` in the server "
                         f"config, or MODELBAY_SERVE_ALLOWED_HOSTS={name}")
        if self.check_origin and origin is not None:
            if "*" in self.allowed_origins or same_origin(origin, host) or self._listed(origin):
                return None
            return OriginNotAllowed(
                f"a web page at {origin[:100]!r} may not call this server: the request comes from another origin "
                f"than {host!r}, and that origin is not in allowed_origins",
                hint="curl and SDKs send no Origin header and are not affected; to let this page call the "
                     f"server, add `allowed_origins: [\"{origin[:100]}\"]` to the server config "
                     "(or MODELBAY_SERVE_ALLOWED_ORIGINS)")
        return None

    def _listed(self, origin: str) -> bool:
        try:
            return normalize_origin(origin) in self.allowed_origins
        except ValueError:  # "null" (sandboxed frames, file:// pages) and other non-origins are never listed
            return False


def install(app, ctx) -> None:
    """Add the guard to ``app`` (called by ``create_app``) when anonymous requests are served or lists are set."""
    config = ctx.config
    hosts = tuple(config.allowed_hosts)
    origins = frozenset(config.allowed_origins)
    anonymous = not config.auth_required
    check_host, check_origin = anonymous or bool(hosts), anonymous or bool(hosts or origins)
    if check_host or check_origin:
        app.add_middleware(BrowserGuard, allowed_hosts=hosts, allowed_origins=origins,
                           check_host=check_host, check_origin=check_origin)
