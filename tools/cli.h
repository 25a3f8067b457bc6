/* cli.h: the subcommand table of the `seqfuse` binary and helpers shared by
 * subcommands. Exit codes: 0 success, 1 runtime error, 2 bad usage. */
#ifndef SF_TOOLS_CLI_H
#define SF_TOOLS_CLI_H

#include <stdio.h>

#include "model/config.h"
#include "seqfuse/seqfuse.h"
#include "train/train_opts.h"

#define SF_EXIT_OK 0
#define SF_EXIT_ERROR 1
#define SF_EXIT_USAGE 2

typedef struct sf_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    void (*usage)(void);
} sf_command;

/* Print "seqfuse NAME: <status>: <last error>" to stderr; returns SF_EXIT_ERROR. */
int sf_cli_fail(const char *cmd, sf_status st);
/* Print a usage error plus a pointer to --help; returns SF_EXIT_USAGE. */
int sf_cli_usage_error(const char *cmd, const char *fmt, ...);
/* Parse a whole decimal integer in [lo, hi]; 0 on success. */
int sf_cli_parse_int(const char *s, long lo, long hi, long *out);
/* Parse a float; 0 on success. */
int sf_cli_parse_float(const char *s, float *out);

/* --config NAME|FILE: a built-in preset or a JSON/YAML file. */
sf_status sf_cli_load_config(const char *name, sf_model_config *cfg, sf_train_opts *opts);
/* "--hidden-size 256": set a model (or training, when opts) option by its key.
 * *handled = 0 when the flag names no option; returns an exit code. */
int sf_cli_set_option(const char *cmd, const char *flag, const char *value,
                      sf_model_config *cfg, sf_train_opts *opts, int *handled);

/* An output file that appears under its name only when complete: written to a
 * temporary file in the same folder, renamed on success, removed on failure or
 * when SIGINT/SIGTERM/SIGHUP end the process (only one open at a time; SIGKILL
 * leaves PATH.tmp.XXXXXX behind). path NULL = stdout. */
typedef struct sf_atomic_out {
    FILE *f;
    char tmp[4200];
    const char *path;
} sf_atomic_out;
sf_status sf_atomic_out_open(sf_atomic_out *o, const char *path);
/* Finish: on st == SF_OK flush, fsync and rename; otherwise discard. Returns the
 * final status. */
sf_status sf_atomic_out_close(sf_atomic_out *o, sf_status st);
/* mkdir that accepts an existing folder; 0 on success. */
int sf_cli_mkdir(const char *dir);

extern const sf_command sf_cmd_translate;
extern const sf_command sf_cmd_score_model;
extern const sf_command sf_cmd_train;
extern const sf_command sf_cmd_score;
extern const sf_command sf_cmd_bench;
extern const sf_command sf_cmd_vocab;
extern const sf_command sf_cmd_info;

#endif
