"""SDK-HMAC-SHA256 request signing, written from the API reference
(shared/reference/hss-api.md, "AK/SK signing").  Used by the simulator to
verify requests and by the tests and tools/hss-sign to make them."""

import hashlib
import hmac
import time
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def encode(value):
    """Percent-encode every byte outside A-Za-z0-9-_.~ as %XX (upper hex)."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return quote(value, safe="")


def canonical_uri(raw_path):
    """Each segment decoded then re-encoded; a trailing '/' added."""
    segs = [encode(unquote_to_bytes(s)) for s in raw_path.split("/")]
    uri = "/".join(segs)
    if not uri.endswith("/"):
        uri += "/"
    return uri


def parse_raw_query(raw_query):
    """Raw query string -> list of (key bytes, value bytes), wire order.
    Only %XX is decoded ('+' stays '+')."""
    pairs = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if part == "":
            continue
        k, sep, v = part.partition("=")
        pairs.append((unquote_to_bytes(k), unquote_to_bytes(v)))
    return pairs


def canonical_query(pairs):
    """pairs of (key, value) (str or bytes, decoded): sorted by key then
    value, byte-wise, keys and values encoded, repeated keys kept."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode("utf-8",
                                                           "surrogateescape")
    items = sorted((b(k), b(v)) for k, v in pairs)
    return "&".join(encode(k) + "=" + encode(v) for k, v in items)


def canonical_request(method, raw_path, pairs, headers, signed_headers,
                      body_hash):
    """headers: dict lower-name -> value; signed_headers: list of lower
    names in the order given.  Returns the canonical request text."""
    ch = "".join("%s:%s\n" % (h, headers[h].strip()) for h in signed_headers)
    return "\n".join([method.upper(), canonical_uri(raw_path),
                      canonical_query(pairs), ch, ";".join(signed_headers),
                      body_hash])


def string_to_sign(sdk_date, creq):
    return "%s\n%s\n%s" % (ALGORITHM, sdk_date,
                           hashlib.sha256(creq.encode("utf-8")).hexdigest())


def signature(sk, sts):
    if isinstance(sk, str):
        sk = sk.encode("utf-8")
    return hmac.new(sk, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def sdk_date(t=None):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time()
                                                        if t is None else t))


def sign(method, raw_path, raw_query, headers, body, ak, sk, date=None,
         security_token=None, sign_all=True):
    """Client side: returns (headers to send (dict), details).

    headers: dict of the headers to send (must include Host); X-Sdk-Date
    (and X-Security-Token) are added.  Every header whose name has no '_'
    is signed (as the SDKs do) unless sign_all is a list of names."""
    hdrs = dict(headers)
    if date is None:
        date = sdk_date()
    hdrs["X-Sdk-Date"] = date
    if security_token is not None:
        hdrs["X-Security-Token"] = security_token
    lower = {k.lower(): v for k, v in hdrs.items()}
    if sign_all is True:
        signed = sorted(k for k in lower if "_" not in k)
    else:
        signed = sorted(x.lower() for x in sign_all)
    if isinstance(body, str):
        body = body.encode("utf-8")
    body_hash = hashlib.sha256(body or b"").hexdigest()
    creq = canonical_request(method, raw_path, parse_raw_query(raw_query),
                             lower, signed, body_hash)
    sts = string_to_sign(date, creq)
    sig = signature(sk, sts)
    hdrs["Authorization"] = "%s Access=%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, ak, ";".join(signed), sig)
    return hdrs, {"canonical_request": creq, "string_to_sign": sts,
                  "canonical_request_hash":
                  hashlib.sha256(creq.encode("utf-8")).hexdigest(),
                  "signature": sig}


def parse_authorization(value):
    """'SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex' ->
    dict or None when it does not have that form."""
    if value is None:
        return None
    value = value.strip()
    alg, sep, rest = value.partition(" ")
    if alg != ALGORITHM or not sep:
        return None
    out = {}
    for part in rest.split(","):
        k, eq, v = part.strip().partition("=")
        if not eq:
            return None
        out[k] = v.strip()
    if not out.get("Access") or not out.get("SignedHeaders") \
            or not out.get("Signature"):
        return None
    out["signed"] = out["SignedHeaders"].split(";")
    return out
