/* log.h: leveled logging to stderr. The CLI sets the level (--quiet, --verbose). */
#ifndef SF_CORE_LOG_H
#define SF_CORE_LOG_H

#include "core/status_internal.h"

typedef enum sf_log_level {
    SF_LOG_ERROR = 0,
    SF_LOG_WARN = 1,
    SF_LOG_INFO = 2,
    SF_LOG_DEBUG = 3,
} sf_log_level;

void sf_log_set_level(sf_log_level level);
sf_log_level sf_log_get_level(void);
void sf_log(sf_log_level level, const char *fmt, ...) SF_PRINTF(2, 3);

#define sf_log_error(...) sf_log(SF_LOG_ERROR, __VA_ARGS__)
#define sf_log_warn(...) sf_log(SF_LOG_WARN, __VA_ARGS__)
#define sf_log_info(...) sf_log(SF_LOG_INFO, __VA_ARGS__)
#define sf_log_debug(...) sf_log(SF_LOG_DEBUG, __VA_ARGS__)

#endif
