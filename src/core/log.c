/* log.c: leveled logging to stderr, one line per call. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static sf_log_level sf_level = SF_LOG_INFO;

void sf_log_set_level(sf_log_level level) { sf_level = level; }
sf_log_level sf_log_get_level(void) { return sf_level; }

void sf_log(sf_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    if (level > sf_level)
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[seqfuse] %s: %s\n", tags[level], line);
}
