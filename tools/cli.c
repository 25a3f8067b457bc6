/* cli.c: error printing and number parsing shared by subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int sf_cli_fail(const char *cmd, sf_status st)
{
    const char *msg = sf_last_error();
    fprintf(stderr, "seqfuse %s: %s%s%s\n", cmd, sf_status_str(st), *msg ? ": " : "", msg);
    return SF_EXIT_ERROR;
}

int sf_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "seqfuse %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'seqfuse %s --help'.\n", cmd);
    return SF_EXIT_USAGE;
}

int sf_cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int sf_cli_parse_float(const char *s, float *out)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}
