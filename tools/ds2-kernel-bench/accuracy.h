#ifndef DS2_KBENCH_ACCURACY_H
#define DS2_KBENCH_ACCURACY_H

/* Prints the error of per-row vs per-tensor activation quantization on a DS2-like product. */
void accuracy_report(void);

#endif
