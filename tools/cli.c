/* cli.c: error printing and number parsing shared by subcommands. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

sf_status sf_cli_load_config(const char *name, sf_model_config *cfg, sf_train_opts *opts)
{
    const char *text = sf_preset_text(name);
    if (!text)
        return sf_opt_load_file(name, sf_model_config_spec, cfg, sf_train_opts_spec, opts);
    char path[] = "/tmp/seqfuse-preset-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return sf_error(SF_ERR_IO, "cannot stage preset %s", name);
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    sf_status st = n == (ssize_t)strlen(text)
                       ? sf_opt_load_file(path, sf_model_config_spec, cfg, sf_train_opts_spec,
                                          opts)
                       : sf_error(SF_ERR_IO, "cannot stage preset %s", name);
    unlink(path);
    return st;
}

int sf_cli_set_option(const char *cmd, const char *flag, const char *value,
                      sf_model_config *cfg, sf_train_opts *opts, int *handled)
{
    sf_status st = SF_OK;
    *handled = 1;
    if (sf_opt_find(sf_model_config_spec, flag + 2))
        st = sf_opt_set(sf_model_config_spec, cfg, flag + 2, value, flag);
    else if (opts && sf_opt_find(sf_train_opts_spec, flag + 2))
        st = sf_opt_set(sf_train_opts_spec, opts, flag + 2, value, flag);
    else
        *handled = 0;
    return st == SF_OK ? SF_EXIT_OK : sf_cli_usage_error(cmd, "%s", sf_last_error());
}

/* The temporary file of the open sf_atomic_out, removed if SIGINT, SIGTERM or
 * SIGHUP ends the process (unlink, signal and raise are async-signal-safe). */
static char sf_tmp_to_remove[4200];
static volatile sig_atomic_t sf_tmp_armed;

static void sf_remove_tmp_and_die(int sig)
{
    if (sf_tmp_armed)
        unlink(sf_tmp_to_remove);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void sf_tmp_cleanup_arm(const char *tmp)
{
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    sf_tmp_armed = 0;
    if (tmp)
        snprintf(sf_tmp_to_remove, sizeof sf_tmp_to_remove, "%s", tmp);
    sf_tmp_armed = tmp != NULL;
    for (int i = 0; i < 3; i++)
        signal(sigs[i], tmp ? sf_remove_tmp_and_die : SIG_DFL);
}

sf_status sf_atomic_out_open(sf_atomic_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (!path) {
        o->f = stdout;
        return SF_OK;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        if (fd >= 0)
            close(fd);
        return sf_error(SF_ERR_IO, "cannot create %s: %s", o->tmp, strerror(errno));
    }
    fchmod(fd, 0644);
    sf_tmp_cleanup_arm(o->tmp);
    return SF_OK;
}

sf_status sf_atomic_out_close(sf_atomic_out *o, sf_status st)
{
    if (!o->path) {
        if (fflush(stdout) != 0 && st == SF_OK)
            st = sf_error(SF_ERR_IO, "writing to stdout failed: %s", strerror(errno));
        return st;
    }
    if (st == SF_OK && (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0))
        st = sf_error(SF_ERR_IO, "writing %s failed: %s", o->tmp, strerror(errno));
    if (fclose(o->f) != 0 && st == SF_OK)
        st = sf_error(SF_ERR_IO, "writing %s failed: %s", o->tmp, strerror(errno));
    o->f = NULL;
    if (st == SF_OK && rename(o->tmp, o->path) != 0)
        st = sf_error(SF_ERR_IO, "cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
    if (st != SF_OK)
        unlink(o->tmp);
    sf_tmp_cleanup_arm(NULL);
    return st;
}

int sf_cli_mkdir(const char *dir)
{
    struct stat sb;
    if (mkdir(dir, 0755) == 0)
        return 0;
    return errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}
