/*
 * weights_write.c — the HDF5 weight file writer of weights_write.h. HDF5's own error
 * printing is switched off; every failure becomes a dc_error naming the file and, where
 * there is one, the tensor or attribute.
 */
#include "loaders/weights_write.h"
#include "base/alloc.h"
#include "loaders/outfile.h"

#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DC_WW_MAX_DIMS 8

struct dc_weights_writer {
    dc_outfile out;
    hid_t file;   /* -1 once closed */
    hid_t lcpl;   /* link creation: make the groups of a path as needed */
};

dc_status dc_weights_writer_open(const char *path, dc_weights_writer **out, dc_error *err)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    dc_weights_writer *w = dc_calloc(1, sizeof *w);
    if (!w)
        return dc_fail(err, DC_ERR_NOMEM, "%s: out of memory", path);
    w->file = w->lcpl = -1;
    dc_status st = dc_outfile_open(&w->out, path, DC_OUT_SEEKABLE | DC_OUT_NAME_ONLY, err);
    if (st != DC_OK) {
        free(w);
        return st;
    }
    w->file = H5Fcreate(dc_outfile_name(&w->out), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    w->lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (w->file < 0 || w->lcpl < 0 || H5Pset_create_intermediate_group(w->lcpl, 1) < 0) {
        dc_weights_writer_abort(w);
        return dc_fail(err, DC_ERR_IO, "%s: cannot create an HDF5 file there", path);
    }
    *out = w;
    return DC_OK;
}

dc_status dc_weights_writer_add(dc_weights_writer *w, const char *key, int ndim,
                                const int64_t *shape, const float *data, dc_error *err)
{
    char h5path[512];
    size_t len = strlen(key);
    if (len == 0 || len + 2 > sizeof h5path)
        return dc_fail(err, DC_ERR_ARG, "%s: tensor name '%.64s' is empty or too long",
                       w->out.path, key);
    if (ndim < 0 || ndim > DC_WW_MAX_DIMS)
        return dc_fail(err, DC_ERR_ARG, "%s: tensor '%s' has %d dimensions (at most %d)",
                       w->out.path, key, ndim, DC_WW_MAX_DIMS);
    h5path[0] = '/';
    for (size_t i = 0; i <= len; i++)
        h5path[i + 1] = key[i] == '.' ? '/' : key[i];
    hsize_t dims[DC_WW_MAX_DIMS];
    for (int d = 0; d < ndim; d++)
        dims[d] = (hsize_t)shape[d];
    hid_t sp = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, dims, NULL);
    hid_t ds = sp < 0 ? -1 : H5Dcreate2(w->file, h5path, H5T_IEEE_F32LE, sp, w->lcpl,
                                        H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                       data);
    if (ds >= 0)
        H5Dclose(ds);
    if (sp >= 0)
        H5Sclose(sp);
    if (rc < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot write tensor '%s' (%s): a duplicate "
                       "name, a name under another tensor's, or the disk full?", w->out.path,
                       key, h5path);
    return DC_OK;
}

/* A root attribute of count values (count 0: a scalar). */
static herr_t dc_ww_attr(hid_t f, const char *name, hid_t file_type, hid_t mem_type,
                         int count, const void *v)
{
    hsize_t n = (hsize_t)count;
    hid_t sp = count == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = sp < 0 ? -1 : H5Acreate2(f, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

/* Text attributes (count 0: one string, else an array), variable-length UTF-8 as h5py
 * writes a str. */
static herr_t dc_ww_text(hid_t f, const char *name, int count, const char *const *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    herr_t rc = H5Tset_size(t, H5T_VARIABLE);
    if (rc >= 0)
        rc = H5Tset_cset(t, H5T_CSET_UTF8);
    if (rc >= 0)
        rc = dc_ww_attr(f, name, t, t, count, v);
    H5Tclose(t);
    return rc;
}

dc_status dc_weights_writer_finish(dc_weights_writer *w, const dc_weights_meta *m,
                                   dc_error *err)
{
    const int version = 1;
    const char *source = m->source ? m->source : "";
    struct {
        const char *name;
        herr_t rc;
    } step[9];
    int k = 0;
    hid_t f = w->file;
    step[k].name = "format_version";
    step[k++].rc = dc_ww_attr(f, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, 0, &version);
    step[k].name = "arch";
    step[k++].rc = dc_ww_text(f, "arch", 0, &m->arch);
    step[k].name = "dataset";
    step[k++].rc = dc_ww_text(f, "dataset", 0, &m->dataset);
    step[k].name = "num_classes";
    step[k++].rc = dc_ww_attr(f, "num_classes", H5T_STD_I32LE, H5T_NATIVE_INT, 0,
                              &m->num_classes);
    step[k].name = "input_size";
    step[k++].rc = dc_ww_attr(f, "input_size", H5T_STD_I32LE, H5T_NATIVE_INT, 3,
                              m->input_size);
    step[k].name = "mean";
    step[k++].rc = dc_ww_attr(f, "mean", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, m->mean);
    step[k].name = "std";
    step[k++].rc = dc_ww_attr(f, "std", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, m->std);
    step[k].name = "class_names";
    step[k++].rc = m->class_names ? dc_ww_text(f, "class_names", m->num_classes,
                                               m->class_names) : 0;
    step[k].name = "source";
    step[k++].rc = dc_ww_text(f, "source", 0, &source);
    for (int i = 0; i < k; i++)
        if (step[i].rc < 0)
            return dc_fail(err, DC_ERR_IO, "%s: cannot write attribute '%s'", w->out.path,
                           step[i].name);
    if (m->transform_input >= 0 &&
        dc_ww_attr(f, "transform_input", H5T_STD_I32LE, H5T_NATIVE_INT, 0,
                   &m->transform_input) < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot write attribute 'transform_input'",
                       w->out.path);
    H5Pclose(w->lcpl);
    w->lcpl = -1;
    herr_t rc = H5Fclose(w->file);
    w->file = -1;
    if (rc < 0)
        return dc_fail(err, DC_ERR_IO, "%s: cannot finish the HDF5 file (disk full?)",
                       w->out.path);
    return DC_OK;
}

const char *dc_weights_writer_tmp_path(const dc_weights_writer *w)
{
    return dc_outfile_name(&w->out);
}

dc_status dc_weights_writer_commit(dc_weights_writer *w, dc_error *err)
{
    dc_status st;
    if (w->file >= 0) {
        st = dc_fail(err, DC_ERR_ARG, "%s: committed before it was finished", w->out.path);
        dc_weights_writer_abort(w);
        return st;
    }
    st = dc_outfile_commit(&w->out, err);
    free(w);
    return st;
}

void dc_weights_writer_abort(dc_weights_writer *w)
{
    if (!w)
        return;
    if (w->lcpl >= 0)
        H5Pclose(w->lcpl);
    if (w->file >= 0)
        H5Fclose(w->file);
    dc_outfile_abort(&w->out);
    free(w);
}
