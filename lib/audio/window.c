/* Periodic analysis windows as scipy.signal.get_window(name, n, fftbins=True), which librosa
 * uses: the symmetric window of length n + 1 with its last sample dropped, so the cosine terms
 * have period n. */
#include <math.h>
#include <string.h>

#include "audio/spectrogram.h"

int ds2_window_from_name(const char *name, ds2_window *w)
{
    static const struct {
        const char *name;
        ds2_window window;
    } names[] = {
        {"hamming", DS2_WINDOW_HAMMING},
        {"hann", DS2_WINDOW_HANN},
        {"blackman", DS2_WINDOW_BLACKMAN},
        {"bartlett", DS2_WINDOW_BARTLETT},
    };
    if (!name || !w)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *w = names[i].window;
            return 0;
        }
    }
    return -1;
}

void ds2_window_fill(ds2_window window, int n, double *w)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < n; i++) {
        double x = two_pi * i / n;
        switch (window) {
        case DS2_WINDOW_HAMMING:
            w[i] = 0.54 - 0.46 * cos(x);
            break;
        case DS2_WINDOW_HANN:
            w[i] = 0.5 - 0.5 * cos(x);
            break;
        case DS2_WINDOW_BLACKMAN:
            w[i] = 0.42 - 0.5 * cos(x) + 0.08 * cos(2.0 * x);
            break;
        case DS2_WINDOW_BARTLETT:
            /* scipy: 2k/(M-1) up to the middle, 2 - 2k/(M-1) after, with M - 1 = n */
            w[i] = 2.0 * i <= n ? 2.0 * i / n : 2.0 - 2.0 * i / n;
            break;
        default:
            w[i] = 0.0;
            break;
        }
    }
}
