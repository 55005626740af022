/*
 * fuzz_h5.c — an HDF5 file from a fuzzer's input (fuzz_h5.h).
 */
#include "fuzz_h5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static unsigned next(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* The HDF5 type of type code t (the caller closes it) and its element size (0: a string). */
static hid_t type_of(unsigned t, size_t *size)
{
    static const size_t sizes[] = { 4, 8, 8, 4, 8, 1, 1 };
    if (t < 7) {
        hid_t h[] = { H5T_STD_I32LE, H5T_STD_I64LE, H5T_STD_U64LE, H5T_IEEE_F32LE,
                      H5T_IEEE_F64LE, H5T_STD_I8LE, H5T_STD_U8LE };
        *size = sizes[t];
        return H5Tcopy(h[t]);
    }
    *size = 0;
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, t == 7 ? H5T_VARIABLE : 16);
    H5Tset_cset(s, H5T_CSET_UTF8);
    return s;
}

/* Writes one record; returns 0, or -1 when libhdf5 refused it (a name given twice). */
static int write_record(hid_t f, input *in, const char *const *names, int n_names)
{
    unsigned what = next(in), t = next(in) % 9, rank = next(in) % 5;
    const char *name = names[(what >> 1) % (unsigned)n_names];
    hsize_t dims[4] = { 1, 1, 1, 1 };
    size_t count = 1;
    for (unsigned d = 0; d < rank; d++) {
        dims[d] = next(in) % 17;
        count *= dims[d];
    }
    size_t size;
    hid_t type = type_of(t, &size);
    /* the values: numbers as bytes, strings as char* (variable) or 16-byte slots (fixed) */
    size_t bytes = size ? count * size : count * (t == 7 ? sizeof(char *) : 16);
    uint8_t *buf = calloc(bytes ? bytes : 1, 1);
    char **strs = t == 7 ? (char **)buf : NULL;
    char *text = t == 7 ? calloc(count ? count * 32 : 1, 1) : NULL;
    if (!buf || (t == 7 && !text))
        abort();
    for (size_t i = 0; i < count; i++) {
        if (size) {
            for (size_t b = 0; b < size; b++)
                buf[i * size + b] = (uint8_t)next(in);
            continue;
        }
        unsigned len = next(in) % 32;
        char *dst = t == 7 ? text + i * 32 : (char *)buf + i * 16;
        for (unsigned b = 0; b < len && (t == 7 ? b < 31 : b < 16); b++)
            dst[b] = (char)next(in);
        if (strs)
            strs[i] = dst;
    }
    hid_t space = rank ? H5Screate_simple((int)rank, dims, NULL) : H5Screate(H5S_SCALAR);
    herr_t rc = -1;
    if (what & 1) {
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t d = H5Dcreate2(f, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (d >= 0) {
            rc = H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            H5Dclose(d);
        }
        H5Pclose(lcpl);
    } else if (H5Aexists(f, name) == 0) {
        hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            rc = H5Awrite(a, type, buf);
            H5Aclose(a);
        }
    }
    H5Sclose(space);
    H5Tclose(type);
    free(buf);
    free(text);
    return rc < 0 ? -1 : 0;
}

void fuzz_h5_write(const char *path, const uint8_t *data, size_t size,
                   const char *const *names, int n_names)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "fuzz: libhdf5 cannot create %s\n", path);
        abort();
    }
    input in = { data, size };
    while (in.n)
        (void)write_record(f, &in, names, n_names);
    H5Fclose(f);
}
