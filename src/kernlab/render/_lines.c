/* objdump -d's instruction lines, written in C.
 *
 * A whole libc is 358,000 lines; one Python format per line costs about objdump's whole run.
 * This writes what FileWriter.block in render/views/disasm.py writes, byte for byte:
 *
 *     "%*x:\t" address, the raw column (7 bytes of hex, then a space, padded to 21), "\t",
 *     the text, "\n"; bytes past the seventh on lines of their own; "\t...\n" for a run of
 *     zeros (no bytes).
 *
 * A row with a note (a system call) or a marked address is written by the Python callback,
 * as is a text that is not valid UTF-8 (a surrogate-escaped name). kernlab works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define BYTES_PER_LINE 7
#define RAW_COLUMN 21

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    PyObject *pieces; /* str pieces, when a row is written by the callback */
} Out;

static int
reserve(Out *out, Py_ssize_t more)
{
    if (out->len + more <= out->cap)
        return 0;
    Py_ssize_t cap = out->cap ? out->cap : 1 << 16;
    while (cap < out->len + more)
        cap *= 2;
    char *buf = PyMem_Realloc(out->buf, cap);
    if (!buf) {
        PyErr_NoMemory();
        return -1;
    }
    out->buf = buf;
    out->cap = cap;
    return 0;
}

/* The bytes so far become a str piece (before one the callback wrote). */
static int
flush(Out *out)
{
    if (out->len == 0)
        return 0;
    PyObject *s = PyUnicode_DecodeUTF8(out->buf, out->len, "strict");
    if (!s)
        return -1;
    int rc = PyList_Append(out->pieces, s);
    Py_DECREF(s);
    out->len = 0;
    return rc;
}

static const char HEX[] = "0123456789abcdef";

/* "%*x:\t" */
static void
put_address(Out *out, unsigned long long address, int width)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = HEX[address & 15];
        address >>= 4;
    } while (address);
    char *p = out->buf + out->len;
    for (int pad = width - n; pad > 0; pad--)
        *p++ = ' ';
    while (n)
        *p++ = digits[--n];
    *p++ = ':';
    *p++ = '\t';
    out->len = p - out->buf;
}

/* "55 48 89 e5 " as raw[:count].hex(" ") + " " */
static void
put_hex(Out *out, const unsigned char *raw, Py_ssize_t count)
{
    char *p = out->buf + out->len;
    for (Py_ssize_t i = 0; i < count; i++) {
        *p++ = HEX[raw[i] >> 4];
        *p++ = HEX[raw[i] & 15];
        *p++ = ' ';
    }
    out->len = p - out->buf;
}

static PyObject *
block_lines(PyObject *self, PyObject *args)
{
    PyObject *rows, *marked, *rare;
    int width;
    if (!PyArg_ParseTuple(args, "O!iOO", &PyList_Type, &rows, &width, &marked, &rare))
        return NULL;
    if (width < 0 || width > 64) {
        PyErr_SetString(PyExc_ValueError, "address width out of range");
        return NULL;
    }
    Out out = {NULL, 0, 0, PyList_New(0)};
    if (!out.pieces)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != 4) {
            PyErr_SetString(PyExc_TypeError, "a row is (address, raw, text, note)");
            goto done;
        }
        PyObject *a = PyTuple_GET_ITEM(row, 0), *r = PyTuple_GET_ITEM(row, 1);
        PyObject *t = PyTuple_GET_ITEM(row, 2), *note = PyTuple_GET_ITEM(row, 3);
        if (!PyBytes_Check(r) || !PyUnicode_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "a row is (address, raw, text, note)");
            goto done;
        }
        int is_marked = 0;
        if (marked != Py_None) {
            is_marked = PySequence_Contains(marked, a);
            if (is_marked < 0)
                goto done;
        }
        Py_ssize_t text_len = 0;
        const char *text = NULL;
        if (note == Py_None && !is_marked) {
            text = PyUnicode_AsUTF8AndSize(t, &text_len);
            if (!text) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
                    goto done;
                PyErr_Clear(); /* a surrogate-escaped name: Python writes it */
            }
        }
        if (!text) {
            PyObject *line = PyObject_CallFunction(rare, "OOOOiO", a, r, t, note, width,
                                                   is_marked ? Py_True : Py_False);
            if (!line)
                goto done;
            if (flush(&out) < 0 || PyList_Append(out.pieces, line) < 0) {
                Py_DECREF(line);
                goto done;
            }
            Py_DECREF(line);
            continue;
        }
        unsigned long long address = PyLong_AsUnsignedLongLong(a);
        if (address == (unsigned long long)-1 && PyErr_Occurred())
            goto done;
        const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(r);
        Py_ssize_t size = PyBytes_GET_SIZE(r);
        /* a line is at most 64 + 2 + 21 + 1 + 1 bytes besides the text */
        if (reserve(&out, text_len + (size / BYTES_PER_LINE + 2) * 100) < 0)
            goto done;
        if (size == 0) {
            memcpy(out.buf + out.len, "\t...\n", 5);
            out.len += 5;
            continue;
        }
        put_address(&out, address, width);
        Py_ssize_t first = size < BYTES_PER_LINE ? size : BYTES_PER_LINE;
        put_hex(&out, raw, first);
        for (Py_ssize_t pad = RAW_COLUMN - 3 * first; pad > 0; pad--)
            out.buf[out.len++] = ' ';
        out.buf[out.len++] = '\t';
        memcpy(out.buf + out.len, text, text_len);
        out.len += text_len;
        out.buf[out.len++] = '\n';
        for (Py_ssize_t at = BYTES_PER_LINE; at < size; at += BYTES_PER_LINE) {
            Py_ssize_t count = size - at < BYTES_PER_LINE ? size - at : BYTES_PER_LINE;
            put_address(&out, address + at, width);
            put_hex(&out, raw + at, count);
            out.buf[out.len++] = '\n';
        }
    }
    if (flush(&out) < 0)
        goto done;
    {
        PyObject *empty = PyUnicode_FromStringAndSize("", 0);
        if (empty) {
            result = PyUnicode_Join(empty, out.pieces);
            Py_DECREF(empty);
        }
    }
done:
    PyMem_Free(out.buf);
    Py_DECREF(out.pieces);
    return result;
}

static PyMethodDef methods[] = {
    {"block_lines", block_lines, METH_VARARGS,
     "block_lines(rows, width, marked, rare) -> str\n"
     "objdump's lines of rows (address, raw, text, note); rare(address, raw, text, note, width,\n"
     "marked) writes a row with a note or a marked address (marked: a set, or None)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lines", "objdump -d's instruction lines, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__lines(void)
{
    return PyModule_Create(&module);
}
