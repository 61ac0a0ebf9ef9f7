/* The compact binary LM: the n-gram tables of lib/decode/lm.h as they lie in memory, so a model
 * is mapped read-only and used in place instead of parsed (ARPA: ~40 ms for the bundled 3-gram,
 * this: the validation pass). Little-endian, every section 8-byte aligned, in this order:
 *
 *   header   magic "DS2LMBIN", u32 version (1), u32 order (1..DS2_LM_MAX_ORDER), u32 n_words,
 *            i32 unk_id, bos_id, eos_id, u32 reserved[2] (0), u64 file_size, u64 blob_bytes,
 *            u64 vocab_cap, u64 n[7], u64 cap[7] (k-gram entries and table slots, k = 2..order;
 *            the rest 0), u64 declared[7] (the ARPA file's \data\ counts)
 *   words    u64 offset[n_words + 1] into the blob (offset[0] = 0, last = blob_bytes), then the
 *            blob: each word's bytes and a NUL
 *   vocab    i32 slot[vocab_cap]: word id + 1, 0 empty (open addressing on the word's hash)
 *   unigrams f32 logp[n_words], f32 backoff[n_words]
 *   k-grams  for k = 2..order: i32 keys[cap][k] (-1 throughout an empty slot), f32 logp[cap],
 *            f32 backoff[cap]
 *
 * The reader checks everything a lookup relies on: sizes against the file, every offset, every
 * word NUL-terminated, every word found at its own hash slot and no slot twice, every key's word
 * ids in range and the key found where its hash probe ends, counts, an empty slot in every table,
 * finite weights, and <s>, </s>, <unk> spelled so. */
#ifndef DS2_LMBIN_H
#define DS2_LMBIN_H

#include <stddef.h>

#include "decode/lm.h"

#define DS2_LMBIN_MAGIC "DS2LMBIN"

/* Maps and validates an open descriptor's file of `size` bytes (the caller closes fd). */
ds2_status ds2_lmbin_map(int fd, size_t size, const char *name, struct ds2_lm **out, ds2_err *err);
/* The same from a copy of len bytes in memory (tests). */
ds2_status ds2_lmbin_parse(const void *data, size_t len, const char *name, struct ds2_lm **out,
                           ds2_err *err);
/* Writes lm in the binary form. */
ds2_status ds2_lmbin_write(const struct ds2_lm *lm, const char *path, ds2_err *err);

#endif
