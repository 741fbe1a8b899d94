/* The listing's per-instruction loop for instructions already known, in C.
 *
 * A whole libc is 450,000 instructions; two thirds repeat byte for byte an instruction seen
 * before and a third of the rest are plain relative branches. For those the text is a dict
 * lookup, and in Python that loop alone costs more than objdump's whole run. This module does
 * exactly what the pure-Python loop in whole.py does for them and leaves every other
 * instruction (None) to Python, in the same order. kernlab works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* capstone's cs_insn: address u64 at byte 8, size u16 at byte 16; 248 bytes a record. */
#define INSN_SIZE 248
#define ADDRESS_AT 8
#define SIZE_AT 16

static PyObject *
known_texts(PyObject *self, PyObject *args)
{
    Py_buffer data, code;
    unsigned long long base, mask;
    PyObject *plain, *heads, *targets, *name_target;
    if (!PyArg_ParseTuple(args, "y*y*KO!O!O!OK", &data, &code, &base, &PyDict_Type, &plain,
                          &PyDict_Type, &heads, &PyDict_Type, &targets, &name_target, &mask))
        return NULL;
    PyObject *addresses = NULL, *raws = NULL, *texts = NULL, *result = NULL;
    Py_ssize_t n = data.len / INSN_SIZE;
    const unsigned char *records = data.buf;
    const unsigned char *bytes = code.buf;
    addresses = PyList_New(n);
    raws = PyList_New(n);
    texts = PyList_New(n);
    if (!addresses || !raws || !texts)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t address;
        uint16_t size;
        memcpy(&address, records + i * INSN_SIZE + ADDRESS_AT, 8);
        memcpy(&size, records + i * INSN_SIZE + SIZE_AT, 2);
        uint64_t offset = address - base;
        if (size == 0 || offset + size > (uint64_t)code.len) {
            PyErr_SetString(PyExc_ValueError, "instruction outside the code");
            goto done;
        }
        const unsigned char *raw = bytes + offset;
        PyObject *a = PyLong_FromUnsignedLongLong(address);
        if (!a)
            goto done;
        PyList_SET_ITEM(addresses, i, a);
        PyObject *r = PyBytes_FromStringAndSize((const char *)raw, size);
        if (!r)
            goto done;
        PyList_SET_ITEM(raws, i, r);
        PyObject *text = PyDict_GetItemWithError(plain, r);
        if (text) {
            Py_INCREF(text);
            PyList_SET_ITEM(texts, i, text);
            continue;
        }
        if (PyErr_Occurred())
            goto done;
        /* A plain relative branch: eb/7x rel8, e8/e9 rel32, 0f 8x rel32. */
        long key = -1;
        int64_t disp = 0;
        if (size == 2) {
            key = raw[0] | 2 << 8;
            disp = (int8_t)raw[1];
        } else if (size == 5) {
            int32_t d;
            memcpy(&d, raw + 1, 4);
            key = raw[0] | 5 << 8;
            disp = d;
        } else if (size == 6 && raw[0] == 0x0F) {
            int32_t d;
            memcpy(&d, raw + 2, 4);
            key = raw[1] | 6 << 8;
            disp = d;
        }
        PyObject *head = NULL;
        if (key >= 0) {
            PyObject *k = PyLong_FromLong(key);
            if (!k)
                goto done;
            head = PyDict_GetItemWithError(heads, k);
            Py_DECREF(k);
            if (!head && PyErr_Occurred())
                goto done;
        }
        if (!head) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(texts, i, Py_None);
            continue;
        }
        uint64_t target = (address + size + (uint64_t)disp) & mask;
        PyObject *t = PyLong_FromUnsignedLongLong(target);
        if (!t)
            goto done;
        PyObject *where = PyDict_GetItemWithError(targets, t);
        if (where) {
            Py_INCREF(where);
        } else if (PyErr_Occurred()) {
            Py_DECREF(t);
            goto done;
        } else {
            where = PyObject_CallOneArg(name_target, t);
        }
        Py_DECREF(t);
        if (!where)
            goto done;
        PyObject *line = PyUnicode_Concat(head, where);
        Py_DECREF(where);
        if (!line)
            goto done;
        PyList_SET_ITEM(texts, i, line);
    }
    result = PyTuple_Pack(3, addresses, raws, texts);
done:
    Py_XDECREF(addresses);
    Py_XDECREF(raws);
    Py_XDECREF(texts);
    PyBuffer_Release(&data);
    PyBuffer_Release(&code);
    return result;
}

static PyMethodDef methods[] = {
    {"known_texts", known_texts, METH_VARARGS,
     "known_texts(records, code, base, plain, heads, targets, name_target, mask)\n"
     "-> (addresses, raws, texts): texts[i] is None where Python must write it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hits", "The listing's loop over known instructions, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__hits(void)
{
    return PyModule_Create(&module);
}
