/* The ARPA n-gram file reader (orders 2..DS2_LM_MAX_ORDER). */
#ifndef DS2_ARPA_H
#define DS2_ARPA_H

#include "decode/lm.h"

/* Reads and validates `path` (\data\ counts, one section per order, \end\; every line's fields,
 * finite weights, known words, no duplicates, counts no larger than the file can hold) into a new
 * model. DS2_ERR_IO when unreadable, DS2_ERR_MODEL_FORMAT with the line at fault otherwise. */
ds2_status ds2_arpa_read(const char *path, struct ds2_lm **out, ds2_err *err);
/* The same from a buffer of len bytes (tests); text need not be NUL-terminated. */
ds2_status ds2_arpa_parse(const char *text, size_t len, const char *name, struct ds2_lm **out,
                          ds2_err *err);

#endif
