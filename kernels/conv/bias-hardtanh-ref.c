#include "conv/conv.h"

void ds2_conv_bias_hardtanh_ukernel__ref(int rows, int cols, const float *in, int ldi, float bias,
                                         float lo, float hi, float *out, int ldo)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float v = in[(long)r * ldi + j] + bias;
            v = v < lo ? lo : v;
            out[(long)r * ldo + j] = v > hi ? hi : v;
        }
}
