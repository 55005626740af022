/* version.c — dc_version() (include/dualcnn.h); meson.build checks that the header's
 * DUALCNN_VERSION_STRING is the project's version. */
#include "dualcnn.h"

const char *dc_version(void)
{
    return DUALCNN_VERSION_STRING;
}
