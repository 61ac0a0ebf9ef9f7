#include "ds2.h"

const char *ds2_status_string(ds2_status status)
{
    switch (status) {
    case DS2_OK:
        return "ok";
    case DS2_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case DS2_ERR_IO:
        return "I/O error";
    case DS2_ERR_MODEL_FORMAT:
        return "bad model file";
    case DS2_ERR_AUDIO_FORMAT:
        return "bad audio file";
    case DS2_ERR_OUT_OF_MEMORY:
        return "out of memory";
    case DS2_ERR_NOT_BUILT:
        return "feature not built";
    case DS2_ERR_NO_DEVICE:
        return "no usable device";
    case DS2_ERR_BACKEND:
        return "backend call failed";
    case DS2_ERR_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown status";
}
