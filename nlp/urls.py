"""Canonical URLs: one form per page, so reposts of a link and tracked variants of it collide.

Rules, in order: scheme and host lower-cased, ``www.`` and obvious mobile
hosts (``m.``, ``mobile.``, ``amp.``) dropped, default ports dropped,
fragments dropped, tracking parameters (``utm_*``, ``fbclid``, ``gclid`` and
friends, ``amp``) removed, remaining parameters sorted, AMP path variants
(``/amp``, ``/amp/``, ``.amp``, ``/amp/`` prefix) resolved, a trailing slash
dropped (except for the root). A value that is not an http(s) URL is
returned stripped but otherwise unchanged, never raising.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "igsh", "mc_cid",
    "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid",
    "ref_src", "ref_url", "cmpid", "si", "amp", "ncid", "sr_share", "spm", "__twitter_impression",
    "ito", "wt_mc", "ocid", "cid_source", "smid", "smtyp",
})
TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_", "at_", "_ga", "_gl")
_MOBILE_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_PATH_RE = re.compile(r"(?:/amp/?|\.amp(?:\.html)?)$", re.IGNORECASE)


def is_tracking_param(name: str) -> bool:
    n = name.lower()
    return n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (see the module docstring); non-http(s) input comes back stripped."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return text
    host = parts.hostname.lower().rstrip(".")
    changed = True
    while changed:  # "m.www.example.com" and "www.m.example.com" both reduce to example.com
        changed = False
        for prefix in _MOBILE_HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                changed = True
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%")
    if path.lower().startswith("/amp/"):
        path = path[4:]
    path = _AMP_PATH_RE.sub("", path) or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    query.sort()
    # https and http of one page are the same page for de-duplication purposes.
    return urlunsplit(("https", netloc, path, urlencode(query, doseq=True), ""))
