#ifndef DS2_KBENCH_CONV_H
#define DS2_KBENCH_CONV_H

/* Times the fp32 conv kernels (kernels/conv) on DeepSpeech2's two conv layers for 5 s of audio,
 * one thread, and prints GFLOP/s; budget: seconds per kernel. */
void conv_report(double budget);

#endif
