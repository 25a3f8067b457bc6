/* fuzz_util.h: what the libFuzzer targets share: the input as a file that
 * path-taking entry points can open (an anonymous memory file, no disk). */
#ifndef SF_FUZZ_UTIL_H
#define SF_FUZZ_UTIL_H

#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write data[0..n) into a new memory file; its path goes to path. Returns the
 * descriptor (close it when done), or aborts: the harness itself failed. */
static inline int sf_fuzz_memfile(const void *data, size_t n, char *path, size_t cap)
{
    int fd = memfd_create("seqfuse-fuzz", MFD_CLOEXEC);
    if (fd < 0 || (n > 0 && write(fd, data, n) != (ssize_t)n))
        abort();
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
