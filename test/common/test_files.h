/* Small file helpers shared by the test suites. */
#ifndef TEST_FILES_H
#define TEST_FILES_H

#include <stddef.h>

/* The whole file, malloc'd and NUL-terminated (*size excludes the NUL); NULL if unreadable. */
char *test_read_file(const char *path, size_t *size);

#endif
