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

/* Run `seqfuse ARGS` (the binary under test; ARGS a printf format) like
 * sf_test_sh: exit status (-1 when killed by a signal), output in *out. */
int sf_test_cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A parallel corpus of n lines of 3..6 colour words (12 words) from a seed;
 * the target is the source reversed (reverse = 1) or copied. */
void sf_test_write_words(const char *src, const char *tgt, int n, int reverse, uint64_t seed);

/* The settings of that model (below) for a corpus and an output folder; the
 * caller may change any of them before sf_train. */
struct sf_trainer_args;
void sf_test_reversal_args(struct sf_trainer_args *a, const char *src, const char *tgt,
                           const char *out_dir);

/* Train the tiny reversal model of the translation tests (E 32, H 64, one
 * layer, 600 steps on 1500 colour-word lines: about 10 s) in folder dir;
 * its model file's path goes to model. Aborts on failure (call it from main). */
void sf_test_train_reversal(const char *dir, char *model, size_t n);

/* How many entries of folder dir have `part` in their name (-1: no folder). */
int sf_test_count_named(const char *dir, const char *part);

#endif
