"""WebSocket payload masking, compiled (RFC 6455 section 5.3).

The compiled twin of :mod:`fastws.mask`: same names, signatures, results
and exceptions (see that module for the contract).  The XOR runs in
``mask_simd.c``, which picks one of its scalar / SSE2 / AVX2 / AVX-512
variants for this CPU once, when this module is imported (AVX2 where
available: AVX-512 measured no faster, see there).

Why the two public functions are not plain ``def`` functions: masking a
6-byte control frame is all call overhead, and a Cython ``def`` wrapper
costs ~10 ns more per call than a C function called through vectorcall.
So ``apply_mask`` / ``apply_mask_inplace`` are instances of a minimal
function type (C, below) whose vectorcall entry points only bind the
arguments -- positionally or by keyword, with the very ``TypeError``
messages a Python ``def`` raises -- and then call the ``cdef`` bodies
written in Cython.  Their ``__signature__`` is the pure twin's, annotations
included; ``__name__``, ``__qualname__``, ``__module__``, ``__doc__`` and
``__annotations__`` are there, and they pickle by reference.

Private test hooks (not part of the public contract):
``_implementations()``, ``_selected()``, ``_use(name)`` and
``_nt_threshold([n])``.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport (
    PyByteArray_AS_STRING,
    PyByteArray_CheckExact,
    PyByteArray_GET_SIZE,
)
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_CheckExact
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from libc.stdint cimport uint32_t
from libc.string cimport memcpy

from sys import intern


cdef extern from "mask_simd.h" nogil:
    void fastws_mask(const unsigned char *src, unsigned char *dst, size_t n, uint32_t key)
    uint32_t fastws_mask_rotate(uint32_t key, size_t phase)
    void fastws_mask_init()
    int fastws_mask_implementations(const char **names, int max)
    const char *fastws_mask_selected()
    int fastws_mask_use(const char *name)
    size_t fastws_mask_nt_min()
    void fastws_mask_set_nt_min(size_t n)


cdef extern from *:
    """
    /* ---- vectorcall entry points of apply_mask / apply_mask_inplace ---- */
    #include <stddef.h>
    #include "structmember.h"

    typedef PyObject *(*fastws_mask_body2)(PyObject *, PyObject *);
    typedef PyObject *(*fastws_mask_body3)(PyObject *, PyObject *, PyObject *);

    /* set once at module init: the Cython bodies, the parameter names
     * (interned "data", "mask", "phase"), the default of phase (0) and the
     * callable that builds a function's inspect.Signature from its name */
    static fastws_mask_body2 fastws_apply_mask_body = NULL;
    static fastws_mask_body3 fastws_apply_mask_inplace_body = NULL;
    static PyObject *fastws_mask_params[3] = {NULL, NULL, NULL};
    static PyObject *fastws_mask_phase_default = NULL;
    static PyObject *fastws_mask_signature_factory = NULL;

    /* Binds vectorcall arguments to the first `nparams` of (data, mask,
     * phase) as a Python `def` would, raising the TypeError CPython raises
     * (same checks, same order, same wording).  `out` gets borrowed
     * references; a parameter without an argument stays NULL (the caller
     * fills defaults).  Only the first `nrequired` parameters are required. */
    static int
    fastws_mask_bind(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                     PyObject *kwnames, Py_ssize_t nparams, Py_ssize_t nrequired,
                     PyObject **out)
    {
        Py_ssize_t i, j, nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        Py_ssize_t missing = 0;

        for (i = 0; i < nparams; i++)
            out[i] = i < nargs ? args[i] : NULL;
        for (i = 0; i < nkw; i++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, i);
            for (j = 0; j < nparams; j++)
                if (name == fastws_mask_params[j])
                    break;
            if (j == nparams) {
                for (j = 0; j < nparams; j++) {
                    int cmp = PyUnicode_Compare(name, fastws_mask_params[j]);
                    if (cmp == -1 && PyErr_Occurred())
                        return -1;
                    if (cmp == 0)
                        break;
                }
            }
            if (j == nparams) {
                PyErr_Format(PyExc_TypeError,
                             "%s() got an unexpected keyword argument '%S'", fname, name);
                return -1;
            }
            if (out[j] != NULL) {
                PyErr_Format(PyExc_TypeError,
                             "%s() got multiple values for argument '%S'", fname,
                             fastws_mask_params[j]);
                return -1;
            }
            out[j] = args[nargs + i];
        }
        if (nargs > nparams) {
            if (nrequired == nparams)
                PyErr_Format(PyExc_TypeError,
                             "%s() takes %zd positional arguments but %zd were given",
                             fname, nparams, nargs);
            else
                PyErr_Format(PyExc_TypeError,
                             "%s() takes from %zd to %zd positional arguments but %zd were given",
                             fname, nrequired, nparams, nargs);
            return -1;
        }
        for (i = 0; i < nrequired; i++)
            missing += out[i] == NULL;
        if (missing) {
            /* only data and mask are ever required */
            if (missing == 2)
                PyErr_Format(PyExc_TypeError,
                             "%s() missing 2 required positional arguments: '%S' and '%S'",
                             fname, fastws_mask_params[0], fastws_mask_params[1]);
            else
                PyErr_Format(PyExc_TypeError,
                             "%s() missing 1 required positional argument: '%S'", fname,
                             fastws_mask_params[out[0] == NULL ? 0 : 1]);
            return -1;
        }
        return 0;
    }

    static PyObject *
    fastws_apply_mask_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames)
    {
        Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
        PyObject *p[2];
        (void)callable;
        if (kwnames == NULL && nargs == 2)
            return fastws_apply_mask_body(args[0], args[1]);
        if (fastws_mask_bind("apply_mask", args, nargs, kwnames, 2, 2, p) < 0)
            return NULL;
        return fastws_apply_mask_body(p[0], p[1]);
    }

    static PyObject *
    fastws_apply_mask_inplace_vectorcall(PyObject *callable, PyObject *const *args,
                                         size_t nargsf, PyObject *kwnames)
    {
        Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
        PyObject *p[3];
        (void)callable;
        if (kwnames == NULL) {
            if (nargs == 2)
                return fastws_apply_mask_inplace_body(args[0], args[1],
                                                      fastws_mask_phase_default);
            if (nargs == 3)
                return fastws_apply_mask_inplace_body(args[0], args[1], args[2]);
        }
        if (fastws_mask_bind("apply_mask_inplace", args, nargs, kwnames, 3, 2, p) < 0)
            return NULL;
        return fastws_apply_mask_inplace_body(
            p[0], p[1], p[2] == NULL ? fastws_mask_phase_default : p[2]);
    }

    /* ---- the type of the two public functions ----
     * A minimal builtin-like function object: vectorcall (no trampoline, no
     * tuple), __name__ / __qualname__ / __module__ / __doc__ /
     * __annotations__, a lazily built __signature__ (so inspect.signature
     * shows the annotations of the pure twin, which __text_signature__
     * cannot), pickled by reference like any module-level function. */
    typedef struct {
        PyObject_HEAD
        vectorcallfunc vectorcall;
        PyObject *name;
        PyObject *qualname;
        PyObject *module;
        PyObject *doc;
        PyObject *annotations;
        PyObject *signature;
    } fastws_mask_function;

    static void
    fastws_mask_function_dealloc(PyObject *self)
    {
        fastws_mask_function *f = (fastws_mask_function *)self;
        Py_XDECREF(f->name);
        Py_XDECREF(f->qualname);
        Py_XDECREF(f->module);
        Py_XDECREF(f->doc);
        Py_XDECREF(f->annotations);
        Py_XDECREF(f->signature);
        Py_TYPE(self)->tp_free(self);
    }

    static PyObject *
    fastws_mask_function_repr(PyObject *self)
    {
        return PyUnicode_FromFormat("<built-in function %U>",
                                    ((fastws_mask_function *)self)->name);
    }

    static PyObject *
    fastws_mask_function_signature(PyObject *self, void *closure)
    {
        fastws_mask_function *f = (fastws_mask_function *)self;
        (void)closure;
        if (f->signature == NULL) {
            if (fastws_mask_signature_factory == NULL) {
                PyErr_SetString(PyExc_AttributeError, "__signature__");
                return NULL;
            }
            f->signature = PyObject_CallOneArg(fastws_mask_signature_factory, f->name);
            if (f->signature == NULL)
                return NULL;
        }
        Py_INCREF(f->signature);
        return f->signature;
    }

    /* Like a builtin, the function does not bind to an instance when it is a
     * class attribute; having __get__ makes inspect.isroutine() true, so
     * pydoc and help() document it as a function. */
    static PyObject *
    fastws_mask_function_descr_get(PyObject *self, PyObject *obj, PyObject *type)
    {
        (void)obj;
        (void)type;
        Py_INCREF(self);
        return self;
    }

    static PyObject *
    fastws_mask_function_reduce(PyObject *self, PyObject *unused)
    {
        (void)unused;
        Py_INCREF(((fastws_mask_function *)self)->qualname);
        return ((fastws_mask_function *)self)->qualname;
    }

    static PyMemberDef fastws_mask_function_members[] = {
        {"__name__", T_OBJECT, offsetof(fastws_mask_function, name), READONLY, NULL},
        {"__qualname__", T_OBJECT, offsetof(fastws_mask_function, qualname), READONLY, NULL},
        {"__module__", T_OBJECT, offsetof(fastws_mask_function, module), READONLY, NULL},
        {"__doc__", T_OBJECT, offsetof(fastws_mask_function, doc), READONLY, NULL},
        {"__annotations__", T_OBJECT, offsetof(fastws_mask_function, annotations), READONLY,
         NULL},
        {NULL, 0, 0, 0, NULL}};

    static PyGetSetDef fastws_mask_function_getset[] = {
        {"__signature__", fastws_mask_function_signature, NULL, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL}};

    static PyMethodDef fastws_mask_function_methods[] = {
        {"__reduce__", fastws_mask_function_reduce, METH_NOARGS, NULL},
        {NULL, NULL, 0, NULL}};

    static PyTypeObject fastws_mask_function_type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        "fastws_c.mask.kernel_function",        /* tp_name */
        sizeof(fastws_mask_function),           /* tp_basicsize */
    };
    static int fastws_mask_function_type_ready = 0;

    /* A new function object; returns NULL with an exception on failure. */
    static PyObject *
    fastws_mask_new_function(int which, PyObject *name, PyObject *module, PyObject *doc,
                             PyObject *annotations)
    {
        fastws_mask_function *f;
        if (!fastws_mask_function_type_ready) {
            PyTypeObject *t = &fastws_mask_function_type;
            t->tp_dealloc = fastws_mask_function_dealloc;
            t->tp_vectorcall_offset = offsetof(fastws_mask_function, vectorcall);
            t->tp_repr = fastws_mask_function_repr;
            t->tp_call = PyVectorcall_Call;
            t->tp_descr_get = fastws_mask_function_descr_get;
            t->tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL
    #ifdef Py_TPFLAGS_IMMUTABLETYPE
                          | Py_TPFLAGS_IMMUTABLETYPE
    #endif
                ;
            t->tp_doc = "A fastws_c.mask kernel function (vectorcall).";
            t->tp_methods = fastws_mask_function_methods;
            t->tp_members = fastws_mask_function_members;
            t->tp_getset = fastws_mask_function_getset;
            if (PyType_Ready(t) < 0)
                return NULL;
            fastws_mask_function_type_ready = 1;
        }
        f = PyObject_New(fastws_mask_function, &fastws_mask_function_type);
        if (f == NULL)
            return NULL;
        f->vectorcall = which ? fastws_apply_mask_inplace_vectorcall
                              : fastws_apply_mask_vectorcall;
        Py_INCREF(name);
        f->name = name;
        Py_INCREF(name);
        f->qualname = name;
        Py_INCREF(module);
        f->module = module;
        Py_INCREF(doc);
        f->doc = doc;
        Py_INCREF(annotations);
        f->annotations = annotations;
        f->signature = NULL;
        return (PyObject *)f;
    }
    """
    ctypedef object (*fastws_mask_body2)(object, object)
    ctypedef object (*fastws_mask_body3)(object, object, object)
    fastws_mask_body2 fastws_apply_mask_body
    fastws_mask_body3 fastws_apply_mask_inplace_body
    PyObject *fastws_mask_params[3]
    PyObject *fastws_mask_phase_default
    PyObject *fastws_mask_signature_factory
    object fastws_mask_new_function(int which, str name, str module, str doc, dict annotations)


__all__ = ["apply_mask", "apply_mask_inplace"]

# Inputs at least this large are XORed with the GIL released; below it the
# release/re-acquire would cost more than it frees.
cdef enum:
    NOGIL_MIN = 65536

# The results of apply_mask_inplace, handed out without creating an int.
cdef tuple _PHASES = (0, 1, 2, 3)

fastws_mask_init()


# -- argument checks ---------------------------------------------------------

cdef int _get_buffer(object obj, Py_buffer *view, str what) except -1:
    """PyBUF_SIMPLE view of ``obj``, or the contract's TypeError."""
    try:
        PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        raise TypeError(f"{what} must be a contiguous bytes-like object") from None
    return 0


cdef int _load_mask_slow(object mask, uint32_t *key) except -1:
    cdef Py_buffer view
    _get_buffer(mask, &view, "mask")
    try:
        if view.len != 4:
            raise ValueError("mask must be exactly 4 bytes")
        memcpy(key, view.buf, 4)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef inline int _load_mask(object mask, uint32_t *key) except -1:
    """The 4 key bytes of ``mask`` (RFC 6455 5.3), in memory order, into ``key``."""
    if PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4:
        memcpy(key, PyBytes_AS_STRING(mask), 4)
        return 0
    return _load_mask_slow(mask, key)


cdef int _phase_slow(object phase) except -1:
    cdef int overflow = 0
    cdef long value
    if not PyLong_CheckExact(phase):
        try:
            phase = PyNumber_Index(phase)
        except TypeError:
            raise TypeError("phase must be an int") from None
    value = PyLong_AsLongAndOverflow(phase, &overflow)
    if overflow or value < 0 or value > 3:
        raise ValueError("phase must be 0, 1, 2 or 3")
    return <int>value


cdef inline int _phase_value(object phase) except -1:
    """``phase`` as 0..3, or the contract's ValueError / a TypeError."""
    # CPython keeps one object per small int, so 0..3 are nearly always
    # these very objects; anything else takes the general path.
    if phase is _PHASES[0]:
        return 0
    if phase is _PHASES[1]:
        return 1
    if phase is _PHASES[2]:
        return 2
    if phase is _PHASES[3]:
        return 3
    return _phase_slow(phase)


# -- the bodies of the public functions --------------------------------------

cdef object _apply_mask(object data, object mask):
    cdef uint32_t key
    cdef Py_buffer view
    cdef Py_ssize_t n
    cdef bytes out
    cdef const unsigned char *src
    cdef unsigned char *dst
    _load_mask(mask, &key)
    if PyBytes_CheckExact(data):
        # bytes are immutable and we hold a reference: safe without the GIL
        n = PyBytes_GET_SIZE(data)
        out = PyBytes_FromStringAndSize(NULL, n)
        src = <const unsigned char *>PyBytes_AS_STRING(data)
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN:
            with nogil:
                fastws_mask(src, dst, <size_t>n, key)
        else:
            fastws_mask(src, dst, <size_t>n, key)
        return out
    _get_buffer(data, &view, "data")
    try:
        # the exported view pins the buffer (a bytearray cannot be resized)
        n = view.len
        out = PyBytes_FromStringAndSize(NULL, n)
        src = <const unsigned char *>view.buf
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        if n >= NOGIL_MIN:
            with nogil:
                fastws_mask(src, dst, <size_t>n, key)
        else:
            fastws_mask(src, dst, <size_t>n, key)
    finally:
        PyBuffer_Release(&view)
    return out


cdef object _apply_mask_inplace(object data, object mask, object phase):
    cdef uint32_t key
    cdef Py_buffer view
    cdef Py_ssize_t n
    cdef unsigned char *buf
    cdef int p
    _load_mask(mask, &key)
    p = _phase_value(phase)
    key = fastws_mask_rotate(key, <size_t>p)
    if PyByteArray_CheckExact(data):
        n = PyByteArray_GET_SIZE(data)
        if n < NOGIL_MIN:
            # the GIL is held throughout, so nobody can resize it meanwhile
            buf = <unsigned char *>PyByteArray_AS_STRING(data)
            fastws_mask(buf, buf, <size_t>n, key)
            return _PHASES[(p + n) & 3]
    _get_buffer(data, &view, "data")
    try:
        if view.readonly:
            raise TypeError("data must be a writable buffer")
        n = view.len
        buf = <unsigned char *>view.buf
        if n >= NOGIL_MIN:
            with nogil:
                fastws_mask(buf, buf, <size_t>n, key)
        else:
            fastws_mask(buf, buf, <size_t>n, key)
    finally:
        PyBuffer_Release(&view)
    return _PHASES[(p + n) & 3]


# -- the public functions -----------------------------------------------------

_APPLY_MASK_DOC = """Return ``data`` XOR the repeating 4-byte ``mask`` as new bytes.

RFC 6455 5.3: octet i of the result is octet i of ``data`` XOR octet
``i % 4`` of ``mask``.  Both arguments may be any C-contiguous bytes-like
objects; ``mask`` must be exactly 4 bytes long.

Raises ``ValueError("mask must be exactly 4 bytes")``, and
``TypeError("mask must be a contiguous bytes-like object")`` /
``TypeError("data must be a contiguous bytes-like object")`` for an
argument without a C-contiguous buffer (the mask is checked first)."""

_APPLY_MASK_INPLACE_DOC = """XOR the writable buffer ``data`` with ``mask`` in place; return the next phase.

RFC 6455 5.3 with the key starting at octet ``phase`` (0..3): octet i of
``data`` is XORed with octet ``(phase + i) % 4`` of ``mask``.  The result
is ``(phase + len(data)) % 4``, the phase of the byte after ``data``, so a
payload arriving in chunks is unmasked by feeding each chunk with the
phase the previous call returned.

Checks, in this order: ``ValueError("mask must be exactly 4 bytes")``
(``TypeError`` for a mask without a contiguous buffer),
``ValueError("phase must be 0, 1, 2 or 3")`` (``TypeError("phase must be
an int")`` for a non-integer), ``TypeError("data must be a contiguous
bytes-like object")``, ``TypeError("data must be a writable buffer")``."""

_ANNOTATIONS = {
    "apply_mask": {"data": "Buffer", "mask": "Buffer", "return": "bytes"},
    "apply_mask_inplace": {"data": "Buffer", "mask": "Buffer", "phase": "int", "return": "int"},
}


def _signature(name):
    """The inspect.Signature of the public function ``name`` (private).

    Built on first access of ``__signature__`` so that importing this module
    does not import :mod:`inspect`; identical to the pure twin's (parameter
    names, kinds, defaults, and its string annotations).
    """
    from inspect import Parameter, Signature

    annotations = _ANNOTATIONS[name]
    params = [
        Parameter("data", Parameter.POSITIONAL_OR_KEYWORD, annotation=annotations["data"]),
        Parameter("mask", Parameter.POSITIONAL_OR_KEYWORD, annotation=annotations["mask"]),
    ]
    if "phase" in annotations:
        params.append(
            Parameter("phase", Parameter.POSITIONAL_OR_KEYWORD, default=0,
                      annotation=annotations["phase"])
        )
    return Signature(params, return_annotation=annotations["return"])


cdef tuple _PARAM_NAMES = tuple(intern(name) for name in ("data", "mask", "phase"))

fastws_mask_params[0] = <PyObject *>_PARAM_NAMES[0]
fastws_mask_params[1] = <PyObject *>_PARAM_NAMES[1]
fastws_mask_params[2] = <PyObject *>_PARAM_NAMES[2]
fastws_mask_phase_default = <PyObject *>_PHASES[0]
# a C-level reference Python code cannot delete keeps the factory alive
cdef object _signature_factory = _signature
fastws_mask_signature_factory = <PyObject *>_signature_factory
fastws_apply_mask_body = _apply_mask
fastws_apply_mask_inplace_body = _apply_mask_inplace

apply_mask = fastws_mask_new_function(
    0, "apply_mask", __name__, _APPLY_MASK_DOC, dict(_ANNOTATIONS["apply_mask"])
)
apply_mask_inplace = fastws_mask_new_function(
    1, "apply_mask_inplace", __name__, _APPLY_MASK_INPLACE_DOC,
    dict(_ANNOTATIONS["apply_mask_inplace"]),
)

del _APPLY_MASK_DOC, _APPLY_MASK_INPLACE_DOC


# -- private hooks for tests and benchmarks -----------------------------------

def _implementations():
    """The kernel variants this CPU supports, narrowest first (private)."""
    cdef const char *names[8]
    cdef int count = fastws_mask_implementations(names, 8)
    return [names[i].decode("ascii") for i in range(count)]


def _selected():
    """Name of the kernel variant in use (private)."""
    return fastws_mask_selected().decode("ascii")


def _use(name):
    """Force the kernel variant ``name`` (private; for tests and benchmarks)."""
    if not isinstance(name, str):
        raise TypeError("name must be a str")
    encoded = name.encode("ascii", "replace")
    if fastws_mask_use(encoded) != 0:
        raise ValueError(f"mask variant {name!r} is not available on this CPU")


def _nt_threshold(n=None):
    """The size from which a distinct destination is written with streaming
    stores; with ``n``, set it (private; for tests).  Returns the old value."""
    cdef size_t old = fastws_mask_nt_min()
    if n is not None:
        if n < 0:
            raise ValueError("n must be >= 0")
        fastws_mask_set_nt_min(<size_t>n)
    return old
