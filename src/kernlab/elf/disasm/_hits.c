/* The listing's per-instruction loop for instructions already known, in C.
 *
 * Also fills instructions not seen before from their shape's template (x86shape.py,
 * fast.Template), when Python has learnt one: the measure of a shape is written here a second
 * time, from x86shape's own opcode tables.
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

/* ------------------------------------------------------------------ shapes
 * x86shape._measure in C: where an instruction's displacement and immediate are. The opcode
 * tables come from x86shape.py itself (set_tables), so only the walk is written twice; tests
 * compare the two on whole libraries and on random bytes. */

enum { HOLE_DISP = 0, HOLE_RIP = 1, HOLE_IMM = 2, HOLE_REL = 3 };
enum { IMM_Z = 10, IMM_V = 11, IMM_RZ = 12, IMM_ODD = 13, IMM_REL8 = 14 };

static unsigned char map1[256], map2[256]; /* has ModRM << 7 | immediate kind */
static unsigned char folded[4][256];       /* (map, opcode): an immediate folded into the name */
static unsigned char vex_imm8[256];
static unsigned char legacy[256];
static int tables_set = 0;

typedef struct {
    int length, fixed, tail, count;
    int kind[2], at[2], size[2];
} Shape;

/* 1: measured; 0: not a layout the decoder measures. */
static int
measure(const unsigned char *raw, Py_ssize_t n, int mode64, Shape *shape)
{
    Py_ssize_t i = 0;
    int opsize16 = 0, has_modrm = 0, imm = 0, evex = 0, fold = 0, rel = 0, rex_w = 0;
    unsigned char b = raw[0];
    shape->count = 0;
    if (legacy[b]) {
        int addr_other = 0;
        while (legacy[b]) {
            if (b == 0x66)
                opsize16 = 1;
            else if (b == 0x67)
                addr_other = 1;
            if (++i >= n)
                return 0;
            b = raw[i];
        }
        if (addr_other && !mode64)
            return 0; /* 16-bit addressing */
    }
    if (mode64 && b >= 0x40 && b <= 0x4F) {
        rex_w = b >= 0x48;
        if (++i >= n)
            return 0;
        b = raw[i];
    }
    if (b == 0x0F) {
        if (i + 1 >= n)
            return 0;
        unsigned char op = raw[i + 1];
        if (op == 0x38 || op == 0x3A) {
            if (i + 2 >= n)
                return 0;
            int opmap = op == 0x38 ? 2 : 3;
            op = raw[i + 2];
            i += 3;
            has_modrm = 1;
            imm = opmap == 3 ? 1 : 0;
            fold = opmap == 3 && folded[3][op];
        } else {
            has_modrm = map2[op] >> 7;
            imm = map2[op] & 0x7F;
            i += 2;
            if (imm == IMM_ODD)
                return 0;
            if (imm == IMM_RZ) {
                rel = 1;
                imm = opsize16 && !mode64 ? 2 : 4;
            }
            fold = op == 0xC2;
        }
    } else if ((b == 0xC4 || b == 0xC5 || b == 0x62) && (mode64 || (i + 1 < n && raw[i + 1] >= 0xC0))) {
        int opmap;
        if (b == 0xC5) {
            opmap = 1;
            i += 2;
        } else if (b == 0xC4) {
            if (i + 2 >= n)
                return 0;
            opmap = raw[i + 1] & 0x1F;
            i += 3;
        } else {
            if (i + 3 >= n)
                return 0;
            opmap = raw[i + 1] & 0x07;
            i += 4;
            evex = 1;
        }
        if (i >= n || opmap < 1 || opmap > 3)
            return 0;
        unsigned char op = raw[i++];
        if (opmap == 1 && op == 0x77 && !evex) {
            shape->length = shape->fixed = shape->tail = (int)i; /* vzeroupper: no ModRM */
            return 1;
        }
        has_modrm = 1;
        imm = opmap == 3 || (opmap == 1 && vex_imm8[op]) ? 1 : 0;
        fold = folded[opmap][op];
    } else {
        has_modrm = map1[b] >> 7;
        imm = map1[b] & 0x7F;
        i += 1;
        if (imm) {
            if (imm == IMM_ODD)
                return 0;
            if (imm == IMM_REL8) {
                imm = 1;
                rel = 1;
            } else if (imm == IMM_Z) {
                imm = opsize16 ? 2 : 4;
            } else if (imm == IMM_RZ) {
                imm = opsize16 && !mode64 ? 2 : 4;
                rel = 1;
            } else if (imm == IMM_V) {
                imm = rex_w ? 8 : opsize16 ? 2 : 4;
            }
        }
        if (has_modrm) {
            if (i >= n)
                return 0;
            if (b == 0xF6 || b == 0xF7) {
                if (((raw[i] >> 3) & 7) < 2)
                    imm = b == 0xF6 ? 1 : opsize16 ? 2 : 4;
            } else if (b == 0xC7 && raw[i] == 0xF8) {
                rel = 1; /* xbegin */
            } else if (b == 0x8F && (raw[i] & 0x38)) {
                return 0; /* AMD's XOP */
            }
        }
    }
    if (has_modrm) {
        if (i >= n)
            return 0;
        unsigned char modrm = raw[i++];
        int mod = modrm >> 6;
        if (mod != 3) {
            int rm = modrm & 7, disp = 0, kind = HOLE_DISP;
            if (rm == 4) {
                if (i >= n)
                    return 0;
                if (mod == 0 && (raw[i] & 7) == 5)
                    disp = 4;
                i += 1;
            } else if (mod == 0 && rm == 5) {
                disp = 4;
                if (mode64)
                    kind = HOLE_RIP;
            }
            if (mod == 1)
                disp = 1;
            else if (mod == 2)
                disp = 4;
            if (disp && !(evex && mod == 1)) {
                shape->kind[shape->count] = kind;
                shape->at[shape->count] = (int)i;
                shape->size[shape->count++] = disp;
            }
            i += disp;
        }
    }
    if (imm) {
        if (!fold) {
            shape->kind[shape->count] = rel ? HOLE_REL : HOLE_IMM;
            shape->at[shape->count] = (int)i;
            shape->size[shape->count++] = imm;
        }
        i += imm;
    }
    if (i > n)
        return 0;
    shape->length = (int)i;
    if (!shape->count) {
        shape->fixed = shape->tail = (int)i;
        return 1;
    }
    shape->fixed = shape->at[0];
    shape->tail = shape->at[shape->count - 1] + shape->size[shape->count - 1];
    return 1;
}

static PyObject *
set_tables(PyObject *self, PyObject *args)
{
    Py_buffer m1, m2, fo, vi, le;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &m1, &m2, &fo, &vi, &le))
        return NULL;
    int ok = m1.len == 256 && m2.len == 256 && fo.len == 4 * 256 && vi.len == 256 && le.len == 256;
    if (ok) {
        memcpy(map1, m1.buf, 256);
        memcpy(map2, m2.buf, 256);
        memcpy(folded, fo.buf, 4 * 256);
        memcpy(vex_imm8, vi.buf, 256);
        memcpy(legacy, le.buf, 256);
        tables_set = 1;
    }
    PyBuffer_Release(&m1);
    PyBuffer_Release(&m2);
    PyBuffer_Release(&fo);
    PyBuffer_Release(&vi);
    PyBuffer_Release(&le);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "tables of the wrong size");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* measure(raw, mode64) -> (length, fixed, tail, holes) or None, as x86shape._measure. */
static PyObject *
py_measure(PyObject *self, PyObject *args)
{
    Py_buffer raw;
    int mode64;
    if (!PyArg_ParseTuple(args, "y*p", &raw, &mode64))
        return NULL;
    Shape shape;
    int found = tables_set && raw.len > 0 && measure(raw.buf, raw.len, mode64, &shape);
    PyBuffer_Release(&raw);
    if (!found)
        Py_RETURN_NONE;
    PyObject *holes = PyTuple_New(shape.count);
    if (!holes)
        return NULL;
    for (int k = 0; k < shape.count; k++) {
        PyObject *hole = Py_BuildValue("(iii)", shape.kind[k], shape.at[k], shape.size[k]);
        if (!hole) {
            Py_DECREF(holes);
            return NULL;
        }
        PyTuple_SET_ITEM(holes, k, hole);
    }
    return Py_BuildValue("(iiiN)", shape.length, shape.fixed, shape.tail, holes);
}

/* The little-endian signed number of size bytes at raw + at (x86 byte order on any host). */
static int64_t
signed_at(const unsigned char *raw, int at, int size)
{
    if (size < 1 || size > 8)
        return 0;
    uint64_t v = 0;
    for (int k = size - 1; k >= 0; k--)
        v = v << 8 | raw[at + k];
    if (size < 8 && (v >> (8 * size - 1)) & 1)
        v |= ~0ULL << (8 * size); /* sign-extend */
    return (int64_t)v;
}

static PyObject *s_kind, *s_pieces, *s_holes, *s_value_at;

/* Template.fill(raw) in C: (kind, text) and *value; NULL with no error when the template is
 * not one of the plain forms this handles. */
static PyObject *
fill(PyObject *template, const unsigned char *raw, long *kind, int64_t *value)
{
    PyObject *k = PyObject_GetAttr(template, s_kind);
    if (!k)
        return NULL;
    *kind = PyLong_AsLong(k);
    Py_DECREF(k);
    if (*kind == -1 && PyErr_Occurred())
        return NULL;
    PyObject *pieces = PyObject_GetAttr(template, s_pieces);
    PyObject *holes = pieces ? PyObject_GetAttr(template, s_holes) : NULL;
    PyObject *value_at = holes ? PyObject_GetAttr(template, s_value_at) : NULL;
    PyObject *text = NULL;
    char buf[4096];
    Py_ssize_t len = 0;
    if (!value_at)
        goto done;
    if (!PyList_Check(pieces) || !PyList_Check(holes) || !PyTuple_Check(value_at) ||
        PyList_GET_SIZE(pieces) != PyList_GET_SIZE(holes) + 1 || PyTuple_GET_SIZE(value_at) != 2) {
        PyErr_SetString(PyExc_TypeError, "not a template");
        goto done;
    }
    for (Py_ssize_t h = 0; h <= PyList_GET_SIZE(holes); h++) {
        Py_ssize_t plen;
        const char *piece = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(pieces, h), &plen);
        if (!piece)
            goto done;
        if (len + plen + 24 > (Py_ssize_t)sizeof(buf)) {
            PyErr_SetString(PyExc_ValueError, "template text too long");
            goto done;
        }
        memcpy(buf + len, piece, plen);
        len += plen;
        if (h == PyList_GET_SIZE(holes))
            break;
        PyObject *hole = PyList_GET_ITEM(holes, h);
        if (!PyTuple_Check(hole) || PyTuple_GET_SIZE(hole) != 3) {
            PyErr_SetString(PyExc_TypeError, "not a template hole");
            goto done;
        }
        long at = PyLong_AsLong(PyTuple_GET_ITEM(hole, 0));
        long size = PyLong_AsLong(PyTuple_GET_ITEM(hole, 1));
        PyObject *spelling = PyTuple_GET_ITEM(hole, 2);
        if (PyErr_Occurred())
            goto done;
        int64_t v = signed_at(raw, (int)at, (int)size);
        int overflow;
        long long spelled = PyLong_AsLongLongAndOverflow(spelling, &overflow);
        if (spelled == -1 && PyErr_Occurred())
            goto done;
        if (!overflow && spelled < 0) { /* a signed displacement */
            if (v < 0)
                len += sprintf(buf + len, "-0x%llx", (unsigned long long)(-(v + 1)) + 1ULL);
            else
                len += sprintf(buf + len, "0x%llx", (unsigned long long)v);
        } else {
            unsigned long long mask = PyLong_AsUnsignedLongLong(spelling);
            if (mask == (unsigned long long)-1 && PyErr_Occurred())
                goto done;
            len += sprintf(buf + len, "0x%llx", (unsigned long long)v & mask);
        }
    }
    {
        long at = PyLong_AsLong(PyTuple_GET_ITEM(value_at, 0));
        long size = PyLong_AsLong(PyTuple_GET_ITEM(value_at, 1));
        if (PyErr_Occurred())
            goto done;
        *value = size ? signed_at(raw, (int)at, (int)size) : 0;
    }
    text = PyUnicode_DecodeUTF8(buf, len, "strict");
done:
    Py_XDECREF(pieces);
    Py_XDECREF(holes);
    Py_XDECREF(value_at);
    return text;
}

/* ------------------------------------------------------------------ names
 * Symbolizer._linked_namer in C, from Symbolizer.namer_tables: the symbol naming an address
 * (the last distinct symbol address at or below it), unless a dynamic relocation at the
 * address names it (a GOT slot), as "name", "name+0x10" or "name-0x10". */

enum { NAMER_UNDEFINED = 1, NAMER_MAY_RELOCATE = 2, NAMER_RELATIVE_NEGATIVE = 4 };

typedef struct {
    Py_buffer starts, values, relative, flags;
    PyObject *names, *relocated;
    Py_ssize_t n;
    int ready;
} Namer;

static PyObject *s_value, *s_name, *s_undefined;

static void
namer_release(Namer *namer)
{
    if (!namer->ready)
        return;
    PyBuffer_Release(&namer->starts);
    PyBuffer_Release(&namer->values);
    PyBuffer_Release(&namer->relative);
    PyBuffer_Release(&namer->flags);
    namer->ready = 0;
}

/* 0: no tables (None), 1: ready, -1: error. */
static int
namer_open(Namer *namer, PyObject *tables)
{
    namer->ready = 0;
    if (tables == Py_None)
        return 0;
    if (!PyTuple_Check(tables) || PyTuple_GET_SIZE(tables) != 6) {
        PyErr_SetString(PyExc_TypeError, "namer tables: a 6-tuple");
        return -1;
    }
    Py_buffer *bufs[4] = {&namer->starts, &namer->values, &namer->relative, &namer->flags};
    for (int k = 0; k < 4; k++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(tables, k), bufs[k], PyBUF_SIMPLE) < 0) {
            while (k--)
                PyBuffer_Release(bufs[k]);
            return -1;
        }
    }
    namer->names = PyTuple_GET_ITEM(tables, 4);
    namer->relocated = PyTuple_GET_ITEM(tables, 5);
    namer->n = namer->starts.len / 8;
    namer->ready = 1;
    if (!PyList_Check(namer->names) || !PyDict_Check(namer->relocated) || PyList_GET_SIZE(namer->names) != namer->n ||
        namer->values.len != namer->starts.len || namer->relative.len != namer->starts.len ||
        namer->flags.len != namer->n || namer->n == 0) {
        namer_release(namer);
        PyErr_SetString(PyExc_ValueError, "namer tables of unequal lengths");
        return -1;
    }
    return 1;
}

static uint64_t
u64_at(Py_buffer *buf, Py_ssize_t k)
{
    uint64_t v;
    memcpy(&v, (const char *)buf->buf + 8 * k, 8);
    return v;
}

/* The name of address, a new reference. */
static PyObject *
namer_name(Namer *namer, uint64_t address)
{
    Py_ssize_t lo = 0, hi = namer->n;
    while (lo < hi) { /* bisect_right */
        Py_ssize_t mid = (lo + hi) / 2;
        if (address < u64_at(&namer->starts, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    Py_ssize_t k = lo - 1 > 0 ? lo - 1 : 0;
    unsigned char flags = ((const unsigned char *)namer->flags.buf)[k];
    uint64_t value = u64_at(&namer->values, k);
    PyObject *name = PyList_GET_ITEM(namer->names, k);
    int undefined = flags & NAMER_UNDEFINED;
    Py_INCREF(name);
    if ((flags & NAMER_MAY_RELOCATE) &&
        ((flags & NAMER_RELATIVE_NEGATIVE) || u64_at(&namer->relative, k) != address)) {
        PyObject *a = PyLong_FromUnsignedLongLong(address);
        if (!a)
            goto fail;
        PyObject *slot = PyDict_GetItemWithError(namer->relocated, a);
        Py_DECREF(a);
        if (slot) {
            PyObject *v = PyObject_GetAttr(slot, s_value);
            PyObject *nm = v ? PyObject_GetAttr(slot, s_name) : NULL;
            PyObject *u = nm ? PyObject_GetAttr(slot, s_undefined) : NULL;
            int truth = u ? PyObject_IsTrue(u) : -1;
            unsigned long long vv = v ? PyLong_AsUnsignedLongLong(v) : 0;
            Py_XDECREF(v);
            Py_XDECREF(u);
            if (!nm || truth < 0 || PyErr_Occurred()) {
                Py_XDECREF(nm);
                goto fail;
            }
            Py_DECREF(name);
            name = nm;
            value = vv;
            undefined = truth;
        } else if (PyErr_Occurred()) {
            goto fail;
        }
    }
    if (value == address || undefined)
        return name;
    char offset[24];
    if (value > address)
        snprintf(offset, sizeof(offset), "-0x%llx", (unsigned long long)(value - address));
    else
        snprintf(offset, sizeof(offset), "+0x%llx", (unsigned long long)(address - value));
    PyObject *out = PyUnicode_FromFormat("%U%s", name, offset);
    Py_DECREF(name);
    return out;
fail:
    Py_DECREF(name);
    return NULL;
}

/* cache[target]; else, when make is given, make(context, target) kept in cache; else
 * fallback(target), a Python function that keeps what it makes itself (FastX86._name,
 * FastX86._target). A new reference, or NULL with an error. */
typedef PyObject *(*Maker)(void *context, uint64_t target);

static PyObject *
cached(PyObject *cache, Maker make, void *context, PyObject *fallback, uint64_t target)
{
    PyObject *t = PyLong_FromUnsignedLongLong(target);
    if (!t)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(cache, t);
    if (found) {
        Py_INCREF(found);
    } else if (!PyErr_Occurred()) {
        if (make) {
            found = make(context, target);
            if (found && PyDict_SetItem(cache, t, found) < 0)
                Py_CLEAR(found);
        } else {
            found = PyObject_CallOneArg(fallback, t);
        }
    }
    Py_DECREF(t);
    return found;
}

static PyObject *
make_name(void *namer, uint64_t target)
{
    return namer_name((Namer *)namer, target);
}

/* FastX86._name: names[target], else the namer's, kept in names. */
static PyObject *
cached_name(Namer *namer, PyObject *names, PyObject *name_of, uint64_t target)
{
    int ready = namer && namer->ready;
    return cached(names, ready ? make_name : NULL, namer, name_of, target);
}

static PyObject *
py_name(PyObject *self, PyObject *args)
{
    PyObject *tables;
    unsigned long long address;
    if (!PyArg_ParseTuple(args, "OK", &tables, &address))
        return NULL;
    Namer namer;
    int ready = namer_open(&namer, tables);
    if (ready < 0)
        return NULL;
    if (!ready)
        Py_RETURN_NONE;
    PyObject *name = namer_name(&namer, address);
    namer_release(&namer);
    return name;
}

/* Whether Chunk.miss in whole.py sends these bytes straight to FastX86.describe, with nothing
 * else to do for them first (a run of zeros, fwait, a REX before another prefix, ud0/ud1
 * without ModRM, a trap instruction): only those are filled from a template here. */
static int
plain_miss(const unsigned char *raw, Py_ssize_t n, int mode64)
{
    if (raw[0] == 0x00 || raw[0] == 0x9B)
        return 0;
    if (mode64 && raw[0] >= 0x40 && raw[0] <= 0x4F && n > 1 && (legacy[raw[1]] || (raw[1] >= 0x40 && raw[1] <= 0x4F)))
        return 0;
    if (n >= 2 && raw[n - 2] == 0x0F && (raw[n - 1] == 0xB9 || raw[n - 1] == 0xFF)) {
        Py_ssize_t k = 0;
        while (k < n - 2 && (legacy[raw[k]] || (raw[k] >= 0x40 && raw[k] <= 0x4F)))
            k++;
        if (k == n - 2)
            return 0;
    }
    if ((n == 2 && ((raw[0] == 0x0F && (raw[1] == 0x05 || raw[1] == 0x34)) || (raw[0] == 0xCD && raw[1] == 0x80))))
        return 0; /* syscall, sysenter, int $0x80 */
    return 1;
}

enum { KIND_PLAIN = 0, KIND_BRANCH = 1, KIND_RIP = 2 };

typedef struct {
    Namer namer;
    PyObject *names, *name_of, *bare;
} Naming;

static PyObject *
make_target_text(void *context, uint64_t target)
{
    Naming *naming = context;
    PyObject *name = cached_name(&naming->namer, naming->names, naming->name_of, target);
    if (!name)
        return NULL;
    char hex[24];
    snprintf(hex, sizeof(hex), "%llx", (unsigned long long)target);
    PyObject *where;
    if (name != Py_None && PyObject_IsTrue(name))
        where = PyUnicode_FromFormat("%s <%U>", hex, name);
    else
        where = PyUnicode_FromFormat("%U%s", naming->bare, hex);
    Py_DECREF(name);
    return where;
}

/* A branch target as objdump writes it, "263f2 <abort+0x53>" (FastX86._target): targets[target],
 * else made with the namer and kept there, else name_target(target). */
static PyObject *
target_text(PyObject *targets, PyObject *name_target, Naming *naming, uint64_t target)
{
    int ready = naming && naming->namer.ready;
    return cached(targets, ready ? make_target_text : NULL, naming, name_target, target);
}

/* The text of an instruction first seen whose shape has a template (FastX86._entry's fill and
 * FastX86.describe); NULL with no error when Python must write it. */
static PyObject *
filled(PyObject *r, const unsigned char *raw, Py_ssize_t size, uint64_t address, uint64_t mask,
       int mode64, PyObject *templates, PyObject *special, Naming *naming, PyObject *plain,
       PyObject *targets, PyObject *name_target)
{
    static const char spaces[] = "        # ";
    if (!plain_miss(raw, size, mode64))
        return NULL;
    PyObject *known = PyDict_GetItemWithError(special, r);
    if (known || PyErr_Occurred())
        return NULL; /* seen before as a RIP or branch form: describe() names its target */
    Shape shape;
    if (!measure(raw, size, mode64, &shape) || !shape.count || shape.length != size)
        return NULL;
    int signs = 1;
    for (int k = 0; k < shape.count; k++)
        signs = signs << 1 | raw[shape.at[k] + shape.size[k] - 1] >> 7;
    unsigned char keybuf[40];
    Py_ssize_t keylen = shape.fixed + (size - shape.tail) + 1;
    if (keylen > (Py_ssize_t)sizeof(keybuf))
        return NULL;
    memcpy(keybuf, raw, shape.fixed);
    memcpy(keybuf + shape.fixed, raw + shape.tail, size - shape.tail);
    keybuf[keylen - 1] = (unsigned char)signs;
    PyObject *key = PyBytes_FromStringAndSize((const char *)keybuf, keylen);
    if (!key)
        return NULL;
    PyObject *template = PyDict_GetItemWithError(templates, key);
    Py_DECREF(key);
    if (!template || template == Py_None)
        return NULL;
    long kind;
    int64_t value = 0;
    PyObject *text = fill(template, raw, &kind, &value);
    if (!text)
        return NULL;
    if (kind == KIND_PLAIN) {
        if (PyDict_SetItem(plain, r, text) < 0) {
            Py_DECREF(text);
            return NULL;
        }
        return text;
    }
    if (kind != KIND_RIP && kind != KIND_BRANCH) {
        Py_DECREF(text);
        return NULL; /* a template never has another kind; Python decides if it does */
    }
    PyObject *entry = Py_BuildValue("(lOL)", kind, text, (long long)value);
    if (!entry || PyDict_SetItem(special, r, entry) < 0) {
        Py_XDECREF(entry);
        Py_DECREF(text);
        return NULL;
    }
    Py_DECREF(entry);
    uint64_t target = (address + size + (uint64_t)value) & mask;
    PyObject *line = NULL;
    if (kind == KIND_BRANCH) {
        PyObject *where = target_text(targets, name_target, naming, target);
        if (where) {
            line = PyUnicode_Concat(text, where);
            Py_DECREF(where);
        }
    } else {
        PyObject *name = cached_name(&naming->namer, naming->names, naming->name_of, target);
        if (name) {
            char hex[24]; /* PyUnicode_FromFormat has no %llx */
            snprintf(hex, sizeof(hex), "%llx", (unsigned long long)target);
            if (name != Py_None && PyObject_IsTrue(name))
                line = PyUnicode_FromFormat("%U%s%s <%U>", text, spaces, hex, name);
            else
                line = PyUnicode_FromFormat("%U%s%U%s", text, spaces, naming->bare, hex);
            Py_DECREF(name);
        }
    }
    Py_DECREF(text);
    return line;
}

static PyObject *
known_texts(PyObject *self, PyObject *args)
{
    Py_buffer data, code;
    unsigned long long base, mask;
    PyObject *plain, *heads, *targets, *name_target, *fills = Py_None;
    if (!PyArg_ParseTuple(args, "y*y*KO!O!O!OK|O", &data, &code, &base, &PyDict_Type, &plain,
                          &PyDict_Type, &heads, &PyDict_Type, &targets, &name_target, &mask, &fills))
        return NULL;
    PyObject *rows = NULL, *misses = NULL, *result = NULL;
    int mode64 = 0;
    PyObject *templates = NULL, *special = NULL, *tables = Py_None;
    Naming naming = {{{0}}, NULL, NULL, NULL};
    if (fills != Py_None) {
        if (!tables_set) {
            PyErr_SetString(PyExc_RuntimeError, "set_tables() first");
            goto done;
        }
        if (!PyArg_ParseTuple(fills, "pO!O!O!OUO", &mode64, &PyDict_Type, &templates, &PyDict_Type,
                              &special, &PyDict_Type, &naming.names, &naming.name_of, &naming.bare,
                              &tables))
            goto done;
        if (namer_open(&naming.namer, tables) < 0)
            goto done;
    }
    Py_ssize_t n = data.len / INSN_SIZE;
    const unsigned char *records = data.buf;
    const unsigned char *bytes = code.buf;
    rows = PyList_New(n);
    misses = PyList_New(0);
    if (!rows || !misses)
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
        PyObject *row = PyTuple_New(4);
        if (!row)
            goto done;
        PyList_SET_ITEM(rows, i, row);
        PyObject *a = PyLong_FromUnsignedLongLong(address);
        if (!a)
            goto done;
        PyTuple_SET_ITEM(row, 0, a);
        PyObject *r = PyBytes_FromStringAndSize((const char *)raw, size);
        if (!r)
            goto done;
        PyTuple_SET_ITEM(row, 1, r);
        Py_INCREF(Py_None);
        PyTuple_SET_ITEM(row, 3, Py_None);
        PyObject *text = PyDict_GetItemWithError(plain, r);
        if (text) {
            Py_INCREF(text);
            PyTuple_SET_ITEM(row, 2, text);
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
            key = raw[0] | 5 << 8;
            disp = signed_at(raw, 1, 4);
        } else if (size == 6 && raw[0] == 0x0F) {
            key = raw[1] | 6 << 8;
            disp = signed_at(raw, 2, 4);
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
        if (head) {
            PyObject *where = target_text(targets, name_target, templates ? &naming : NULL,
                                          (address + size + (uint64_t)disp) & mask);
            if (!where)
                goto done;
            PyObject *line = PyUnicode_Concat(head, where);
            Py_DECREF(where);
            if (!line)
                goto done;
            PyTuple_SET_ITEM(row, 2, line);
            continue;
        }
        PyObject *line = NULL;
        if (templates) {
            line = filled(r, raw, size, address, mask, mode64, templates, special, &naming, plain, targets,
                          name_target);
            if (!line && PyErr_Occurred())
                goto done;
        }
        if (!line) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (!index || PyList_Append(misses, index) < 0) {
                Py_XDECREF(index);
                goto done;
            }
            Py_DECREF(index);
            Py_INCREF(Py_None);
            line = Py_None;
        }
        PyTuple_SET_ITEM(row, 2, line);
    }
    result = PyTuple_Pack(2, rows, misses);
done:
    namer_release(&naming.namer);
    Py_XDECREF(rows);
    Py_XDECREF(misses);
    PyBuffer_Release(&data);
    PyBuffer_Release(&code);
    return result;
}

static PyMethodDef methods[] = {
    {"known_texts", known_texts, METH_VARARGS,
     "known_texts(records, code, base, plain, heads, targets, name_target, mask[, fills])\n"
     "-> (rows, misses): rows (address, raw, text, None), the text None at the indexes in\n"
     "misses, for Python to write. fills: (mode64, templates, special, names, name_of,\n"
     "bare_prefix, namer_tables or None) to fill first-seen instructions from their shape's\n"
     "template and name targets in C."},
    {"set_tables", set_tables, METH_VARARGS,
     "set_tables(map1, map2, folded, vex_imm8, legacy): x86shape's opcode tables."},
    {"name", py_name, METH_VARARGS,
     "name(tables, address) -> str | None: Symbolizer.namer_tables' name of address."},
    {"measure", py_measure, METH_VARARGS,
     "measure(raw, mode64) -> (length, fixed, tail, holes) | None, as x86shape._measure."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hits", "The listing's loop over known instructions, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__hits(void)
{
    s_kind = PyUnicode_InternFromString("kind");
    s_pieces = PyUnicode_InternFromString("pieces");
    s_holes = PyUnicode_InternFromString("holes");
    s_value_at = PyUnicode_InternFromString("value_at");
    s_value = PyUnicode_InternFromString("value");
    s_name = PyUnicode_InternFromString("name");
    s_undefined = PyUnicode_InternFromString("undefined");
    if (!s_kind || !s_pieces || !s_holes || !s_value_at || !s_value || !s_name || !s_undefined)
        return NULL;
    return PyModule_Create(&module);
}
