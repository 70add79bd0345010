/*
 * Threefry-2x32 (20 rounds) over a run of counters, compiled: the same function as
 * polyro.backends._threefry.hash2x32 (and jax.random's generator), bit for bit.
 *
 * open_uniforms(k0, k1, out, wide) (below) gives MCMC's uniforms of a transition in one call.
 *
 * counters(k0, k1, start, y0, y1) writes into the uint32 buffers y0 and y1 (n words each) the
 * hash under key (k0, k1) of the 64-bit counters start, ..., start + n - 1, whose high words
 * must be 0 (start + n <= 2**32): y0[i], y1[i] = hash((k0, k1), (0, start + i)).
 *
 * One pass over the words, every round in registers: the loop vectorizes (with a rotate
 * instruction where the machine has one: the function is compiled for AVX-512, AVX2 and the
 * baseline, and the loader picks the best the CPU runs, on x86-64 Linux with GCC or Clang).
 * The GIL is released while it runs, so several threads may hash at once.
 *
 * Optional: polyro runs the same function with numpy ufuncs where this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
    (defined(__clang__) ? (__clang_major__ >= 14) : (__GNUC__ >= 6))
#define POLYRO_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define POLYRO_CLONES
#endif

#define ROTL(x, r) (((x) << (r)) | ((x) >> (32 - (r))))
#define MIX(r) x0 += x1; x1 = ROTL(x1, r); x1 ^= x0;
#define FOUR_A MIX(13) MIX(15) MIX(26) MIX(6)
#define FOUR_B MIX(17) MIX(29) MIX(16) MIX(24)

/* The block function of counter (0, c) under key (k0, k1), k2 = k0 ^ k1 ^ parity. */
static inline void block(uint32_t k0, uint32_t k1, uint32_t k2, uint32_t c, uint32_t *y0,
                         uint32_t *y1)
{
    uint32_t x0 = k0; /* high word 0, plus k0 */
    uint32_t x1 = c + k1;
    FOUR_A x0 += k1; x1 += k2 + 1u;
    FOUR_B x0 += k2; x1 += k0 + 2u;
    FOUR_A x0 += k0; x1 += k1 + 3u;
    FOUR_B x0 += k1; x1 += k2 + 4u;
    FOUR_A x0 += k2; x1 += k0 + 5u;
    *y0 = x0;
    *y1 = x1;
}

POLYRO_CLONES
static void counters(uint32_t k0, uint32_t k1, uint32_t start, uint32_t *restrict y0,
                     uint32_t *restrict y1, size_t n)
{
    const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
    for (size_t i = 0; i < n; i++) {
        uint32_t a, b;
        block(k0, k1, k2, start + (uint32_t)i, &a, &b);
        y0[i] = a;
        y1[i] = b;
    }
}

/* The words y0 ^ y1 of counters 2 .. n+1 as open uniforms (w + 0.5) * 2**-32, clipped to
 * [eps, 1 - eps], in double or float arithmetic (out holds n of them). */
#define OPEN_UNIFORMS(NAME, T, EPS)                                                         \
    POLYRO_CLONES                                                                           \
    static void NAME(uint32_t k0, uint32_t k1, T *restrict out, size_t n)                  \
    {                                                                                       \
        const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;                                         \
        const T lo = (EPS), hi = (T)1 - (EPS);                                              \
        for (size_t i = 0; i < n; i++) {                                                    \
            uint32_t a, b;                                                                  \
            block(k0, k1, k2, (uint32_t)(i + 2), &a, &b);                                   \
            T u = ((T)(a ^ b) + (T)0.5) * (T)0x1p-32;                                       \
            u = u < lo ? lo : u;                                                            \
            out[i] = u > hi ? hi : u;                                                       \
        }                                                                                   \
    }

OPEN_UNIFORMS(open_f64, double, 2.220446049250313e-16)
OPEN_UNIFORMS(open_f32, float, 1.1920929e-07f)

static PyObject *py_open_uniforms(PyObject *self, PyObject *args)
{
    unsigned long k0, k1;
    Py_buffer b;
    int wide;
    (void)self;
    if (!PyArg_ParseTuple(args, "kkw*p:open_uniforms", &k0, &k1, &b, &wide))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t size = wide ? 8 : 4;
    if (b.len % size != 0 || k0 > 0xFFFFFFFFul || k1 > 0xFFFFFFFFul ||
        (unsigned long long)(b.len / size) + 2 > 0x100000000ull) {
        PyErr_Format(PyExc_ValueError,
                     "open_uniforms: out must hold whole %s values (got %zd bytes), key words "
                     "32-bit, and at most 2**32 - 2 values", wide ? "float64" : "float32",
                     b.len);
        goto done;
    }
    size_t n = (size_t)(b.len / size);
    uint32_t w[2];
    counters((uint32_t)k0, (uint32_t)k1, 0u, &w[0], &w[1], 1);
    uint32_t v0 = w[0] ^ w[1];
    counters((uint32_t)k0, (uint32_t)k1, 1u, &w[0], &w[1], 1);
    uint32_t v1 = w[0] ^ w[1];
    Py_BEGIN_ALLOW_THREADS
    if (wide)
        open_f64((uint32_t)k0, (uint32_t)k1, (double *)b.buf, n);
    else
        open_f32((uint32_t)k0, (uint32_t)k1, (float *)b.buf, n);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(kk)", (unsigned long)v0, (unsigned long)v1);
done:
    PyBuffer_Release(&b);
    return result;
}

static PyObject *py_counters(PyObject *self, PyObject *args)
{
    unsigned long k0, k1, start;
    Py_buffer b0, b1;
    (void)self;
    if (!PyArg_ParseTuple(args, "kkkw*w*:counters", &k0, &k1, &start, &b0, &b1))
        return NULL;
    PyObject *result = NULL;
    if (b0.itemsize != 4 || b1.itemsize != 4 || b0.len != b1.len) {
        PyErr_Format(PyExc_ValueError,
                     "counters: y0 and y1 must be uint32 buffers of one length "
                     "(got itemsizes %zd, %zd and lengths %zd, %zd bytes)",
                     b0.itemsize, b1.itemsize, b0.len, b1.len);
        goto done;
    }
    size_t n = (size_t)(b0.len / 4);
    if (k0 > 0xFFFFFFFFul || k1 > 0xFFFFFFFFul || start > 0xFFFFFFFFul ||
        (unsigned long long)start + n > 0x100000000ull) {
        PyErr_Format(PyExc_ValueError,
                     "counters: key words and counters must be 32-bit (start %lu, %zu words)",
                     start, n);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    counters((uint32_t)k0, (uint32_t)k1, (uint32_t)start, (uint32_t *)b0.buf,
             (uint32_t *)b1.buf, n);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&b0);
    PyBuffer_Release(&b1);
    return result;
}

static PyMethodDef methods[] = {
    {"counters", py_counters, METH_VARARGS,
     "counters(k0, k1, start, y0, y1): Threefry-2x32 of the counters start .. start+n-1 "
     "under key (k0, k1), written into the uint32 buffers y0 and y1 of n words each."},
    {"open_uniforms", py_open_uniforms, METH_VARARGS,
     "open_uniforms(k0, k1, out, wide): the words bits[i] = y0 ^ y1 of counters 0 .. n+1 under "
     "key (k0, k1); returns (bits[0], bits[1]) (the next key) and writes into out (a buffer of "
     "n float64 if wide, else float32) clip((bits[i + 2] + 0.5) * 2**-32, eps, 1 - eps), "
     "computed in that precision."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_threefry_kernel",
    "Threefry-2x32 over a run of counters, compiled (optional; see polyro.backends._threefry).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__threefry_kernel(void) { return PyModule_Create(&module); }
