/* Word timestamps from a decoded token path (greedy or beam). */
#ifndef DS2_WORDS_H
#define DS2_WORDS_H

#include "ds2.h"

/* Splits the path at labels spelled " " into words: each word's text (its labels' strings
 * concatenated), start = first emission frame of its first label x frame_seconds, end = last
 * emission frame of its last label x frame_seconds. *words is one allocation (the texts follow
 * the array); NULL with *n_words 0 when there are none. -1 when out of memory. */
int ds2_words_from_path(const char *const *labels, const int *label, const int *first,
                        const int *last, int len, double frame_seconds, ds2_word **words,
                        int *n_words);

#endif
