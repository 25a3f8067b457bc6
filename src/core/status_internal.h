/* status_internal.h: helpers that set the thread's error message.
 * Pattern: return SF_FAIL(SF_ERR_FORMAT, "%s: got %d, expected %d", path, a, b); */
#ifndef SF_CORE_STATUS_INTERNAL_H
#define SF_CORE_STATUS_INTERNAL_H

#include "seqfuse/status.h"

#if defined(__GNUC__)
#define SF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SF_PRINTF(a, b)
#endif

/* Store a formatted message for this thread and return st. */
sf_status sf_error(sf_status st, const char *fmt, ...) SF_PRINTF(2, 3);

/* Prepend context ("loading m.safetensors: ") to the current message. */
sf_status sf_error_prefix(sf_status st, const char *fmt, ...) SF_PRINTF(2, 3);

/* Message prefixed with the failing function's name. */
#define SF_FAIL(st, ...) sf_fail_impl_((st), __func__, __VA_ARGS__)
#define sf_fail_impl_(st, fn, fmt, ...) sf_error((st), "%s: " fmt, (fn), ##__VA_ARGS__)

/* Propagate a failing status unchanged. */
#define SF_TRY(expr)                       \
    do {                                   \
        sf_status sf_try_st_ = (expr);     \
        if (sf_try_st_ != SF_OK)           \
            return sf_try_st_;             \
    } while (0)

#endif
