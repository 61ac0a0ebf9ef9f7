/* WER/CER edit distances for evaluation (ds2-bench). Not part of libds2: inference needs none. */
#ifndef DS2_TOOLS_METRICS_H
#define DS2_TOOLS_METRICS_H

/* Word / character edit distance as deepspeech.pytorch's WER/CER: the transcript and
 * reference are compared as given (callers upper-case both); words split on spaces, and
 * the CER ignores spaces. Returns the distance; *ref_words / *ref_chars receives the reference
 * length (words, or characters without spaces). Returns -1 on allocation failure. */
long ds2_word_errors(const char *hypothesis, const char *reference, long *ref_words);
long ds2_char_errors(const char *hypothesis, const char *reference, long *ref_chars);

#endif
