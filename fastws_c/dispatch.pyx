# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""fastws_c.dispatch -- the compiled read path of a listener connection.

With a :class:`fastws.asyncio.Listener`, a read from the socket normally goes
``buffer_updated`` -> ``Connection._received`` -> the sans-IO core's
``receive_data`` -> its ``message_callback`` -> ``on_message``: five Python
frames around one C frame parser. :class:`ListenerReader` does the common
case in C instead and calls only ``on_message`` (Python, the application's):

    the connection is OPEN, its frame parser is between frames, no
    fragmented message is under way, no compression was negotiated;
    and each frame in the read is complete, FIN set, RSV clear, text or
    binary, masked exactly when the peer is a client, within the frame
    and message size limits, and (text) valid UTF-8.

At the first byte that is not such a frame (a control frame, a fragment, a
partial frame at the end of the read, anything invalid), the rest of the read
goes to ``Connection._received``, which hands it to the core: the core sees
the stream from a frame boundary and answers exactly as it always does
(pongs, close handshake, 1002/1007/1009 failures) -- the messages before were
delivered, in order, by this path. So this module decides nothing about the
protocol; it only skips the interpreter for frames whose handling is
trivial, and tests compare both paths on the same byte streams
(tests/test_asyncio_dispatch.py).

A text frame from a client is unmasked in place, in the per-thread receive
buffer (which nobody reads again after ``buffer_updated``), and decoded from
there; if it is not valid UTF-8 it is masked back before the core gets it.

Its ``send_nowait`` is the connection's ``send_nowait`` for the common case
too: a ``str`` or ``bytes`` under 16 KiB, no ``text=`` override, the core on
its fast path (OPEN, no fragmented message, no compression): the frame
(masked with the core's next key for a client) is built in C and queued in
the core's output, written at once outside a dispatch. Anything else calls
``Connection.send_nowait``.

There is no pure-Python twin: the pure backend (and every connection this
path does not apply to) runs ``Connection._received`` and
``Connection.send_nowait``, the reference.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from fastws.exceptions import ConnectionClosed
from fastws.protocol import State


cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t *size) except NULL


cdef extern from "mask_simd.c":
    pass


cdef extern from "mask_simd.h" nogil:
    void fastws_mask(const unsigned char *src, unsigned char *dst, size_t n, uint32_t key)
    void fastws_mask_init()


fastws_mask_init()

__all__ = ["ListenerReader", "buffer_updated"]

cdef object _OPEN = State.OPEN
# send_nowait handles messages under this size in C (larger ones go the
# reference way: written at once, or header and payload without a copy)
cdef Py_ssize_t _SEND_MAX = 16 * 1024


cdef inline uint64_t _be64(const unsigned char *p) noexcept:
    return ((<uint64_t>p[0] << 56) | (<uint64_t>p[1] << 48) | (<uint64_t>p[2] << 40)
            | (<uint64_t>p[3] << 32) | (<uint64_t>p[4] << 24) | (<uint64_t>p[5] << 16)
            | (<uint64_t>p[6] << 8) | <uint64_t>p[7])


cdef class ListenerReader:
    """``reader(nbytes)``: what ``buffer_updated(nbytes)`` does for a listener
    connection on the C backend (see the module docstring).

    ``ListenerReader(conn, listener, view)``: ``conn`` is the
    :class:`fastws.asyncio.connection.Connection` (OPEN, no compression),
    ``listener`` its listener, ``view`` the writable receive buffer that
    ``conn.get_buffer`` hands out.
    """

    cdef object conn
    cdef object core
    cdef object parser
    cdef object listener
    cdef object on_message
    cdef object fallback
    cdef object view
    cdef unsigned char[::1] buf
    cdef unsigned char *base
    cdef Py_ssize_t size
    cdef uint64_t limit
    cdef bint server
    cdef object send_reference

    def __init__(self, conn, listener, view):
        cdef unsigned char[::1] buf = view
        core = conn.protocol
        if core._deflate is not None or core.streaming or core._parser is None:
            raise ValueError("ListenerReader needs an open connection without compression")
        self.conn = conn
        self.core = core
        self.parser = core._parser
        self.listener = listener
        self.on_message = listener.on_message
        self.fallback = conn._received
        self.view = view
        self.buf = buf
        self.size = buf.shape[0]
        self.base = &buf[0] if self.size else NULL
        self.limit = <uint64_t>min(core._max_frame, core._max_message)
        self.server = not core._client
        self.send_reference = type(conn).send_nowait

    def __call__(self, Py_ssize_t nbytes):
        self.read(nbytes)

    cdef int read(self, Py_ssize_t nbytes) except -1:
        cdef object conn = self.conn
        cdef object core = self.core
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t avail, hlen
        cdef const unsigned char *p
        cdef unsigned char *payload
        cdef unsigned int b0, b1, op
        cdef uint64_t length
        cdef uint32_t key = 0
        cdef bint server = self.server
        cdef object message
        cdef list out
        if nbytes < 0 or nbytes > self.size:
            raise ValueError("nbytes out of range")
        if (core._state is not _OPEN or core._frag_op or conn._listener is not self.listener
                or core._parser is not self.parser or not self.parser.idle):
            self.fallback(self.view[:nbytes])
            return 0
        conn._dispatching = True
        try:
            while True:
                avail = nbytes - pos
                if avail < 2:
                    break
                p = self.base + pos
                b0 = p[0]
                b1 = p[1]
                op = b0 & 0x0F
                # FIN set, RSV clear, text or binary; masked iff from a client
                if (b0 & 0xF0) != 0x80 or (op != 1 and op != 2) or (b1 >> 7) != <unsigned int>server:
                    break
                length = b1 & 0x7F
                hlen = 2
                if length == 126:
                    if avail < 4:
                        break
                    length = (<uint64_t>p[2] << 8) | p[3]
                    hlen = 4
                elif length == 127:
                    if avail < 10:
                        break
                    length = _be64(p + 2)
                    hlen = 10
                if server:
                    hlen += 4
                if avail < hlen or length > self.limit or length > <uint64_t>(avail - hlen):
                    break
                payload = self.base + pos + hlen
                if server:
                    memcpy(&key, p + hlen - 4, 4)
                if op == 2:
                    message = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>length)
                    if server:
                        fastws_mask(payload, <unsigned char *>PyBytes_AS_STRING(message),
                                    <size_t>length, key)
                    else:
                        memcpy(PyBytes_AS_STRING(message), payload, <size_t>length)
                else:
                    if server:
                        fastws_mask(payload, payload, <size_t>length, key)
                    try:
                        message = (<char *>payload)[:length].decode("utf-8")
                    except UnicodeDecodeError:
                        if server:  # give the core the frame as it came (it fails 1007)
                            fastws_mask(payload, payload, <size_t>length, key)
                        break
                pos += hlen + <Py_ssize_t>length
                try:
                    self.on_message(conn, message)
                except ConnectionClosed as exc:  # sent after the close: not a bug
                    conn.logger.debug("%s: listener stopped: %s", conn, exc)
                except Exception:
                    conn._listener_failed("on_message")
                if core._state is not _OPEN or conn._listener is not self.listener:
                    break
        finally:
            conn._dispatching = False
        if pos < nbytes:
            # the rest (or all of the read) goes the reference way; it writes
            # what both produced, in order
            self.fallback(self.view[pos:nbytes])
            return 0
        out = core._out
        if out:
            core._out = []
            if len(out) == 1:
                conn.transport.write(out[0])
            else:
                conn._write_list(out)
        if core._state is not _OPEN:
            conn._check_state()
        return 0

    def send_nowait(self, message, *, text=None):
        """``Connection.send_nowait``, in C for small ``str``/``bytes`` messages."""
        cdef object conn = self.conn
        cdef object core = self.core
        cdef const char *data
        cdef Py_ssize_t n, hlen, pos
        cdef unsigned int op
        cdef unsigned char *f
        cdef uint32_t key = 0
        cdef object pool
        cdef bytes frame
        cdef list out
        if text is not None or core._send_fast is not True or conn._fragmenting is not None:
            return self.send_reference(conn, message, text=text)
        if type(message) is bytes:
            op = 2
            data = PyBytes_AS_STRING(message)
            n = PyBytes_GET_SIZE(message)
        elif type(message) is str:
            op = 1
            data = PyUnicode_AsUTF8AndSize(message, &n)
        else:
            return self.send_reference(conn, message, text=text)
        if n >= _SEND_MAX:
            return self.send_reference(conn, message, text=text)
        hlen = 2 if n < 126 else 4
        if self.server:
            frame = PyBytes_FromStringAndSize(NULL, hlen + n)
            f = <unsigned char *>PyBytes_AS_STRING(frame)
            memcpy(f + hlen, data, <size_t>n)
        else:
            pos = core._mask_pos
            pool = core._mask_pool
            if pos + 4 > PyBytes_GET_SIZE(pool):  # the reference refills the pool
                return self.send_reference(conn, message, text=text)
            core._mask_pos = pos + 4
            memcpy(&key, PyBytes_AS_STRING(pool) + pos, 4)
            frame = PyBytes_FromStringAndSize(NULL, hlen + 4 + n)
            f = <unsigned char *>PyBytes_AS_STRING(frame)
            memcpy(f + hlen, &key, 4)
            fastws_mask(<const unsigned char *>data, f + hlen + 4, <size_t>n, key)
        f[0] = 0x80 | op
        if n < 126:
            f[1] = <unsigned char>n
        else:
            f[1] = 126
            f[2] = <unsigned char>(n >> 8)
            f[3] = <unsigned char>(n & 0xFF)
        if not self.server:
            f[1] |= 0x80
        out = core._out
        out.append(frame)
        if not conn._dispatching:
            core._out = []
            if len(out) == 1:
                conn.transport.write(out[0])
            else:
                conn._write_list(out)


def buffer_updated(self, Py_ssize_t nbytes):
    """``Connection.buffer_updated`` on the C backend (the same code as the
    Python method, without its interpreter frame): the compiled reader when
    the connection has one, else ``_received``."""
    reader = self._reader
    if type(reader) is ListenerReader:
        (<ListenerReader>reader).read(nbytes)
    elif reader is not None:
        reader(nbytes)
    else:
        self._received(self._view[:nbytes])
