#include <stdlib.h>
#include <string.h>

#include "decode/words.h"

int ds2_words_from_path(const char *const *labels, const int *label, const int *first,
                        const int *last, int len, double frame_seconds, ds2_word **words,
                        int *n_words)
{
    *words = NULL;
    *n_words = 0;
    int count = 0;
    size_t bytes = 0;
    for (int i = 0; i < len; i++) {
        if (!strcmp(labels[label[i]], " "))
            continue;
        if (i == 0 || !strcmp(labels[label[i - 1]], " "))
            count++;
        bytes += strlen(labels[label[i]]);
    }
    if (!count)
        return 0;
    size_t head = (size_t)count * sizeof(ds2_word);
    ds2_word *w = malloc(head + bytes + (size_t)count);
    if (!w)
        return -1;
    char *text = (char *)w + head;
    int k = -1;
    for (int i = 0; i < len; i++) {
        if (!strcmp(labels[label[i]], " "))
            continue;
        if (i == 0 || !strcmp(labels[label[i - 1]], " ")) {
            if (k >= 0)
                *text++ = '\0';
            k++;
            w[k].text = text;
            w[k].start_s = first[i] * frame_seconds;
        }
        w[k].end_s = last[i] * frame_seconds;
        size_t add = strlen(labels[label[i]]);
        memcpy(text, labels[label[i]], add);
        text += add;
    }
    *text = '\0';
    *words = w;
    *n_words = count;
    return 0;
}
