/* status.c: status names and the thread-local error message buffer. */
#include "core/status_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char sf_errbuf[2048];

static const char *const sf_status_names[SF_STATUS_COUNT] = {
    [SF_OK] = "ok",
    [SF_ERR_INVALID_ARG] = "invalid argument",
    [SF_ERR_IO] = "I/O error",
    [SF_ERR_FORMAT] = "format error",
    [SF_ERR_OOM] = "out of memory",
    [SF_ERR_UNSUPPORTED] = "unsupported",
    [SF_ERR_NO_DEVICE] = "no GPU device",
    [SF_ERR_CUDA] = "CUDA error",
    [SF_ERR_TOKENIZER] = "tokenizer error",
    [SF_ERR_NUMERIC] = "numerical error",
    [SF_ERR_INTERRUPTED] = "interrupted",
    [SF_ERR_INTERNAL] = "internal error",
};

const char *sf_status_str(sf_status st)
{
    if ((int)st < 0 || st >= SF_STATUS_COUNT)
        return "unknown status";
    return sf_status_names[st];
}

const char *sf_last_error(void) { return sf_errbuf; }

void sf_clear_error(void) { sf_errbuf[0] = '\0'; }

sf_status sf_error(sf_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sf_errbuf, sizeof sf_errbuf, fmt, ap);
    va_end(ap);
    return st;
}

sf_status sf_error_prefix(sf_status st, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof sf_errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, sf_errbuf, sizeof old);
    size_t plen = strlen(prefix);
    if (plen + 2 >= sizeof sf_errbuf)
        plen = sizeof sf_errbuf - 3;
    memcpy(sf_errbuf, prefix, plen);
    memcpy(sf_errbuf + plen, ": ", 2);
    size_t room = sizeof sf_errbuf - plen - 3;
    size_t olen = strnlen(old, room);
    memcpy(sf_errbuf + plen + 2, old, olen);
    sf_errbuf[plen + 2 + olen] = '\0';
    return st;
}
