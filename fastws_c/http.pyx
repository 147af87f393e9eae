# cython: annotation_typing=False
"""HTTP/1.1 message heads for the WebSocket opening handshake (compiled twin).

Same API, results and error messages as :mod:`fastws.http`, whose module
docstring states the rules (RFC 9112 §2-§5, RFC 9110 §5.5-§5.6, RFC 6455 §4,
§9.1) and the order in which errors are reported. The head scanner is C
(``http_scan.c``): a framing pass over the CR/LF bytes (SSE2 where available),
then one pass over each line with 256-entry class tables, recording spans
that are turned into ``str`` objects only once the whole head is valid.
``Request`` and ``Response`` are the NamedTuples of :mod:`fastws.http`.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_CheckExact

from fastws import http as _py
from fastws.exceptions import InvalidHTTP
from fastws.http import Request, Response

__all__ = [
    "Request",
    "Response",
    "parse_request",
    "parse_response",
    "get_header",
    "has_token",
    "parse_tokens",
    "parse_extensions",
    "build_extensions",
]


cdef extern from "Python.h":
    Py_ssize_t PyNumber_AsSsize_t(object o, void *exc) except? -1


cdef extern from "http_scan.h":
    int FWS_OK
    int FWS_NEED_MORE
    int FWS_E_TOO_LARGE
    int FWS_E_TOO_MANY
    int FWS_E_NOMEM

    ctypedef struct fws_head:
        Py_ssize_t consumed

    void fws_head_init(fws_head *h) noexcept
    void fws_head_release(fws_head *h) noexcept
    int fws_parse_head(const unsigned char *p, Py_ssize_t n, Py_ssize_t max_size,
                       Py_ssize_t max_headers, int is_request, fws_head *h) noexcept
    object fws_build_request(const unsigned char *p, const fws_head *h, object cls)
    object fws_build_response(const unsigned char *p, const fws_head *h, object cls)
    int fws_http_init() except -1
    int fws_has_token(object value, object token) except -1
    object fws_get_header(object headers, object name)


fws_http_init()

# indexed by -code (see http_scan.h); the texts of fastws/http.py
cdef tuple _MESSAGES = (
    None,
    None,  # -1: too large, formatted
    "bare LF in HTTP head",
    "CR not followed by LF in HTTP head",
    "invalid request line",
    "invalid method",
    "invalid request target",
    "invalid HTTP version",
    "invalid status line",
    "invalid status code",
    "invalid character in reason phrase",
    "obsolete line folding (header line starts with whitespace)",
    "missing colon in header line",
    "empty header name",
    "whitespace between header name and colon",
    "invalid character in header name",
    "invalid character in header value",
)

cdef str _E_DATA = "data must be a contiguous bytes-like object"
cdef object _Request = Request
cdef object _Response = Response


cdef object _error(int code, Py_ssize_t max_size, Py_ssize_t max_headers):
    if code == FWS_E_TOO_LARGE:
        return InvalidHTTP(f"HTTP head larger than {max_size} bytes", 431)
    if code == FWS_E_TOO_MANY:
        return InvalidHTTP(f"more than {max_headers} header fields", 431)
    if code == FWS_E_NOMEM:
        return MemoryError()
    return InvalidHTTP(_MESSAGES[-code])


cdef inline Py_ssize_t _limits(object max_size, object max_headers, Py_ssize_t *headers) except -1:
    # PyNumber_AsSsize_t(x, NULL) clips huge ints, which changes no outcome:
    # no buffer reaches PY_SSIZE_T_MAX bytes.
    cdef Py_ssize_t size = PyNumber_AsSsize_t(max_size, NULL)
    headers[0] = PyNumber_AsSsize_t(max_headers, NULL)
    if size < 1:
        raise ValueError("max_size must be positive")
    if headers[0] < 0:
        raise ValueError("max_headers must not be negative")
    return size


cdef object _parse(object data, object max_size, object max_headers, int is_request):
    cdef Py_ssize_t size, count
    cdef Py_buffer view
    cdef const unsigned char *p
    cdef Py_ssize_t n
    cdef int rc
    cdef fws_head h
    size = _limits(max_size, max_headers, &count)
    if PyBytes_CheckExact(data):
        p = <const unsigned char *>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
        fws_head_init(&h)
        try:
            rc = fws_parse_head(p, n, size, count, is_request, &h)
            if rc == FWS_OK:
                if is_request:
                    return fws_build_request(p, &h, _Request)
                return fws_build_response(p, &h, _Response)
        finally:
            fws_head_release(&h)
    else:
        try:
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        except (TypeError, BufferError):
            raise TypeError(_E_DATA) from None
        fws_head_init(&h)
        try:
            p = <const unsigned char *>view.buf
            rc = fws_parse_head(p, view.len, size, count, is_request, &h)
            if rc == FWS_OK:
                if is_request:
                    return fws_build_request(p, &h, _Request)
                return fws_build_response(p, &h, _Response)
        finally:
            fws_head_release(&h)
            PyBuffer_Release(&view)
    if rc == FWS_NEED_MORE:
        return None
    raise _error(rc, size, count)


def parse_request(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Request, int] | None:
    """Parses an HTTP/1.1 request head from the start of ``data``.

    Returns ``(request, consumed)`` -- ``consumed`` counts the head including
    the blank line (and any skipped leading empty lines) -- or ``None`` when
    the head is not complete yet. Raises :class:`~fastws.exceptions.InvalidHTTP`
    (status 400, or 431 for a head over ``max_size`` bytes or more than
    ``max_headers`` header lines). See :mod:`fastws.http` for the rules.
    """
    return _parse(data, max_size, max_headers, 1)


def parse_response(
    data: Buffer, max_size: int = 16384, max_headers: int = 128
) -> tuple[Response, int] | None:
    """Parses an HTTP/1.1 response head from the start of ``data``.

    Same contract as :func:`parse_request`; the status line is
    ``HTTP/x.y SP 3DIGIT [SP reason-phrase]`` (RFC 9112 §4, the SP before an
    empty reason may be missing). No leading empty lines are skipped.
    """
    return _parse(data, max_size, max_headers, 0)


# --------------------------------------------------------------------------
# Header-value helpers

def get_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of header ``name`` (ASCII case-insensitive), or ``None``.

    Field names are case-insensitive (RFC 9110 §5.1) by ASCII rules only: no
    Unicode case mapping makes two names equal (the KELVIN SIGN is not "k").
    Repeated headers are combined with ``", "`` in received order, which is
    equivalent to one header with a comma-separated list (RFC 9110 §5.3).
    ``headers`` is an iterable of ``(name, value)`` pairs with ``str`` names.
    """
    if type(headers) is list and PyUnicode_CheckExact(name):
        result = fws_get_header(headers, name)
        if result is not NotImplemented:
            return result
    # anything but a list of exact (str, value) tuples: the generic code
    return _py.get_header(headers, name)


def has_token(value: str, token: str) -> bool:
    """Whether the comma-separated list ``value`` contains ``token``.

    Elements are compared ASCII case-insensitively after stripping SP/HTAB
    (OWS, RFC 9110 §5.6.1), so ``"keep-alive, Upgrade"`` contains
    ``"upgrade"`` (RFC 9110 §7.6.1 Connection, §7.8 Upgrade). An empty
    ``token`` is never contained.
    """
    if PyUnicode_CheckExact(value) and PyUnicode_CheckExact(token):
        return fws_has_token(value, token) == 1
    return _py.has_token(value, token)


cdef inline bint _tchar(Py_UCS4 c) noexcept:
    # RFC 9110 §5.6.2: "!#$%&'*+-.^_`|~" / DIGIT / ALPHA
    if c >= 128:
        return False
    if (c >= u'a' and c <= u'z') or (c >= u'A' and c <= u'Z') or (c >= u'0' and c <= u'9'):
        return True
    return c in u"!#$%&'*+-.^_`|~"


cdef bint _is_token(str s) noexcept:
    cdef Py_UCS4 c
    if len(s) == 0:
        return False
    for c in s:
        if not _tchar(c):
            return False
    return True


def parse_tokens(value: str) -> list[str]:
    """The tokens of a comma-separated list (``#token``, RFC 9110 §5.6.1).

    OWS around elements is ignored, empty elements are skipped, case is
    kept. An element that is not a token raises ``InvalidHTTP``.
    """
    cdef str item
    if not isinstance(value, str):
        raise TypeError("value must be str")
    cdef list tokens = []
    for item in (<str>value).split(","):
        item = item.strip(" \t")
        if not item:
            continue
        if not _is_token(item):
            raise InvalidHTTP(f"invalid token in list: {item!r}")
        tokens.append(item)
    return tokens


cdef inline Py_ssize_t _skip_ows(str value, Py_ssize_t pos, Py_ssize_t n):
    while pos < n and (value[pos] == u' ' or value[pos] == u'\t'):
        pos += 1
    return pos


cdef inline Py_ssize_t _token_end(str value, Py_ssize_t pos, Py_ssize_t n, str what) except -1:
    cdef Py_ssize_t i = pos
    while i < n and _tchar(value[i]):
        i += 1
    if i == pos:
        raise InvalidHTTP(
            f"invalid Sec-WebSocket-Extensions: expected {what} at position {pos}"
        )
    return i


cdef inline bint _qchar(Py_UCS4 c) noexcept:
    # qdtext / quoted-pair octets (RFC 9110 §5.6.4): HTAB, SP, VCHAR, obs-text
    return c == u'\t' or (c >= 0x20 and c <= 0x7E) or (c >= 0x80 and c <= 0xFF)


cdef tuple _quoted_at(str value, Py_ssize_t pos, Py_ssize_t n):
    cdef list chars = []
    cdef Py_ssize_t i = pos + 1
    cdef Py_UCS4 c
    while i < n:
        c = value[i]
        if c == u'"':
            return "".join(chars), i + 1
        if c == u'\\':
            i += 1
            if i == n:
                break
            c = value[i]
            if not _qchar(c):
                raise InvalidHTTP(
                    f"invalid Sec-WebSocket-Extensions: bad quoted-pair at position {i}"
                )
        elif not _qchar(c):
            raise InvalidHTTP(
                f"invalid Sec-WebSocket-Extensions: bad character in quoted string at position {i}"
            )
        chars.append(c)
        i += 1
    raise InvalidHTTP(
        f"invalid Sec-WebSocket-Extensions: unterminated quoted string at position {pos}"
    )


def parse_extensions(value: str) -> Extensions:
    """Parses a ``Sec-WebSocket-Extensions`` value (RFC 6455 §9.1).

    ``ext; p1; p2=v, ext2`` gives ``[("ext", [("p1", None), ("p2", "v")]),
    ("ext2", [])]``. Parameter values are tokens or quoted-strings; a
    quoted-string is unescaped (RFC 9110 §5.6.4) and must then itself be a
    token (RFC 6455 §9.1). OWS is allowed around ``,``, ``;`` and ``=``; empty
    list elements are skipped (RFC 9110 §5.6.1). Raises ``InvalidHTTP``.
    """
    if not isinstance(value, str):
        raise TypeError("value must be str")
    cdef str s = <str>value
    cdef Py_ssize_t n = len(s), pos = 0, end, quoted_at
    cdef list result = [], params
    cdef str name, param
    cdef object arg
    while True:
        pos = _skip_ows(s, pos, n)
        if pos == n:
            return result
        if s[pos] == u',':
            pos += 1
            continue
        end = _token_end(s, pos, n, "an extension name")
        name = s[pos:end]
        pos = _skip_ows(s, end, n)
        params = []
        while pos < n and s[pos] == u';':
            pos = _skip_ows(s, pos + 1, n)
            end = _token_end(s, pos, n, "a parameter name")
            param = s[pos:end]
            pos = _skip_ows(s, end, n)
            arg = None
            if pos < n and s[pos] == u'=':
                pos = _skip_ows(s, pos + 1, n)
                if pos < n and s[pos] == u'"':
                    quoted_at = pos
                    arg, pos = _quoted_at(s, pos, n)
                    if not _is_token(arg):
                        raise InvalidHTTP(
                            "invalid Sec-WebSocket-Extensions: quoted value at position "
                            f"{quoted_at} is not a token"
                        )
                else:
                    end = _token_end(s, pos, n, "a parameter value")
                    arg = s[pos:end]
                    pos = end
                pos = _skip_ows(s, pos, n)
            params.append((param, arg))
        result.append((name, params))
        if pos == n:
            return result
        if s[pos] != u',':
            raise InvalidHTTP(
                f"invalid Sec-WebSocket-Extensions: expected ',' or ';' at position {pos}"
            )
        pos += 1


cdef inline bint _is_token_obj(object value):
    return isinstance(value, str) and _is_token(<str>value)


def build_extensions(extensions: Iterable[tuple[str, Iterable[tuple[str, str | None]]]]) -> str:
    """Formats a ``Sec-WebSocket-Extensions`` value (RFC 6455 §9.1).

    The inverse of :func:`parse_extensions`: ``ext; p1; p2=v, ext2``. Names and
    values must be tokens (values may be ``None`` for a bare parameter),
    otherwise ``ValueError``; a malformed structure raises ``TypeError``.
    """
    cdef list parts = [], words
    cdef tuple item, pair
    for extension in extensions:
        item = tuple(extension)
        if len(item) != 2:
            raise TypeError("each extension must be a (name, params) pair")
        name = item[0]
        params = item[1]
        if not _is_token_obj(name):
            raise ValueError(f"invalid extension name: {name!r}")
        words = [name]
        for param in params:
            pair = tuple(param)
            if len(pair) != 2:
                raise TypeError("each extension parameter must be a (name, value) pair")
            key = pair[0]
            arg = pair[1]
            if not _is_token_obj(key):
                raise ValueError(f"invalid extension parameter name: {key!r}")
            if arg is None:
                words.append(key)
            elif _is_token_obj(arg):
                words.append(f"{key}={arg}")
            else:
                raise ValueError(f"invalid extension parameter value: {arg!r}")
        parts.append("; ".join(words))
    return ", ".join(parts)
