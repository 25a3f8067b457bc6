/* sf_test.h: helpers shared by the Check test binaries: running a suite,
 * temporary folders, random data, tolerant comparisons, running the CLI. */
#ifndef SF_TEST_H
#define SF_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Run a suite (no fork, so sanitizers and valgrind see everything);
 * returns the process exit code (0 all passed, 1 otherwise). */
int sf_test_main(Suite *s);

/* A fresh folder under $TMPDIR (or /tmp); path written to buf. */
void sf_test_tmpdir(char *buf, size_t n);
/* rm -rf path (best effort). */
void sf_test_rmtree(const char *path);

/* Write / read a whole file; read returns malloc'd bytes (caller frees). */
void sf_test_write_file(const char *path, const void *data, size_t n);
char *sf_test_read_file(const char *path, size_t *n);

/* Uniform random floats in [lo, hi) from a seed. */
void sf_test_randu(float *x, int64_t n, float lo, float hi, uint64_t seed);

/* Largest |a-b| / (atol + rtol*|b|) over n; <= 1 means within tolerance.
 * NaN/Inf must agree (same class, same sign of Inf) or the result is +inf. */
double sf_test_tol_ratio(const float *a, const float *b, int64_t n, double atol, double rtol);

/* Run a shell command, capturing stdout+stderr into *out (malloc'd);
 * returns the exit status (or -1). */
int sf_test_sh(const char *cmd, char **out);

#endif
