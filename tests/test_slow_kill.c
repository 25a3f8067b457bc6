/* test_slow_kill.c: crash safety of checkpoints. `seqfuse train` with
 * save_every 1 (a save after every step) is killed with SIGKILL at random
 * moments, 20 times; after each kill checkpoint.safetensors (once it exists)
 * must load, `--resume` must continue for two more steps, and the temporary
 * files an interrupted save leaves (NAME.tmp.XXXXXX, never the real name) must
 * be gone after the next start. SIGINT and SIGTERM save and exit 0. A killed
 * `translate -o` leaves no file under the output's name (and, unless it was
 * SIGKILL, no temporary file either). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "model/model_io.h"
#include "sf_test.h"

static char g_dir[4096], g_out[4200], g_src[4200], g_tgt[4200], g_spm[4200];

static void setup(void)
{
    sf_test_tmpdir(g_dir, sizeof g_dir);
    snprintf(g_src, sizeof g_src, "%s/train.src", g_dir);
    snprintf(g_tgt, sizeof g_tgt, "%s/train.tgt", g_dir);
    snprintf(g_spm, sizeof g_spm, "%s/vocab", g_dir);
    snprintf(g_out, sizeof g_out, "%s/out", g_dir);
    sf_test_write_words(g_src, g_tgt, 400, 1, 31);
    char *text = NULL;
    int rc = sf_test_cli(&text, "-q vocab --src '%s' --tgt '%s' -o '%s' --vocab-size 40", g_src,
                         g_tgt, g_spm);
    ck_assert_msg(rc == 0, "%s", text);
    free(text);
}

static void teardown(void) { sf_test_rmtree(g_dir); }

/* The training command line (NULL-terminated argv) for out, resuming or not,
 * up to max_steps. */
static void train_argv(const char *out, int resume, long max_steps, char **argv, char *buf,
                       size_t n)
{
    snprintf(buf, n,
             "%s|train|--config|tiny|--src|%s|--tgt|%s|--src-spm|%s.src.model|--tgt-spm|"
             "%s.tgt.model|--out|%s|--save-every|1|--log-every|1000|--threads|1|--max-tokens|"
             "200|--max-steps|%ld%s",
             SF_SEQFUSE_BIN, g_src, g_tgt, g_spm, g_spm, out, max_steps,
             resume ? "|--resume" : "");
    int k = 0;
    for (char *save = NULL, *p = strtok_r(buf, "|", &save); p; p = strtok_r(NULL, "|", &save))
        argv[k++] = p;
    argv[k] = NULL;
}

/* Start argv with stdout and stderr into log; returns the pid. */
static pid_t start(char **argv, const char *log)
{
    fflush(NULL); /* or the child's freopen writes our buffered output again */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms - 1000 * (long)(ms / 1000)) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The step a checkpoint holds (it must load), or -1 when there is none yet. */
static long checkpoint_step(const char *out)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", out);
    if (access(path, F_OK) != 0)
        return -1;
    sf_model_file m;
    ck_assert_msg(sf_model_load(path, &m) == SF_OK, "after a kill: %s", sf_last_error());
    const char *state = sf_st_meta(m.st, "train_state");
    const char *p = state ? strstr(state, "\"step\":") : NULL;
    ck_assert_msg(p && m.adam_m, "%s is not a full checkpoint", path);
    long step = atol(p + 7);
    sf_model_file_free(&m);
    return step;
}

START_TEST(test_sigkill_during_saves)
{
    sf_rng r;
    sf_rng_seed(&r, 99);
    char buf[32768], log[4300], *argv[40];
    snprintf(log, sizeof log, "%s/train.log", g_dir);
    int with_temp = 0, resumed = 0;
    long last = -1;
    for (int kill_no = 1; kill_no <= 20; kill_no++) {
        train_argv(g_out, last >= 0, 1000000, argv, buf, sizeof buf);
        pid_t pid = start(argv, log);
        double ms = 150 + 1350 * sf_rng_uniform(&r);
        sleep_ms(ms);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        char *text = sf_test_read_file(log, NULL);
        ck_assert_msg(WIFSIGNALED(status), "kill %d: the run ended by itself: %s", kill_no, text);
        free(text);
        int temps = sf_test_count_named(g_out, ".tmp.");
        with_temp += temps > 0;
        long step = checkpoint_step(g_out);
        ck_assert_msg(step >= last, "kill %d: checkpoint went back from step %ld to %ld",
                      kill_no, last, step);
        printf("kill %2d after %4.0f ms: checkpoint at step %ld, %d temporary file(s)\n", kill_no,
               ms, step, temps);
        if (step < 0)
            continue;
        /* it resumes, two more steps, and the leftovers are gone */
        text = NULL;
        int rc = sf_test_cli(&text, "-q train --config tiny --src '%s' --tgt '%s' --src-spm "
                             "'%s.src.model' --tgt-spm '%s.tgt.model' --out '%s' --threads 1 "
                             "--max-tokens 200 --save-every 1 --resume --max-steps %ld", g_src,
                             g_tgt, g_spm, g_spm, g_out, step + 2);
        char want[64];
        snprintf(want, sizeof want, "trained %ld steps", step + 2);
        ck_assert_msg(rc == 0 && strstr(text, want), "kill %d: resume from step %ld: exit %d: %s",
                      kill_no, step, rc, text);
        free(text);
        ck_assert_int_eq(sf_test_count_named(g_out, ".tmp."), 0);
        ck_assert_int_eq(checkpoint_step(g_out), step + 2);
        last = step + 2;
        resumed++;
    }
    printf("20 kills: %d left a temporary file (killed during a save), %d resumed\n", with_temp,
           resumed);
    ck_assert_int_gt(resumed, 10);
}
END_TEST

/* SIGINT and SIGTERM: the run saves a checkpoint and exits 0. */
START_TEST(test_stop_signals)
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    char out[4300], buf[32768], log[4400], *argv[40];
    snprintf(out, sizeof out, "%s/signal%d", g_dir, _i);
    snprintf(log, sizeof log, "%s/signal%d.log", g_dir, _i);
    train_argv(out, 0, 1000000, argv, buf, sizeof buf);
    pid_t pid = start(argv, log);
    for (int waited = 0; checkpoint_step(out) < 3 && waited < 600; waited++)
        sleep_ms(50);
    ck_assert_int_eq(kill(pid, sigs[_i]), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char *text = sf_test_read_file(log, NULL);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status 0x%x: %s",
                  strsignal(sigs[_i]), status, text);
    ck_assert_msg(strstr(text, "stopped by a signal") && strstr(text, "checkpoint saved"), "%s",
                  text);
    free(text);
    ck_assert_int_ge(checkpoint_step(out), 3);
    ck_assert_int_eq(sf_test_count_named(out, ".tmp."), 0);
}
END_TEST

/* A killed `translate -o OUT`: OUT never appears. SIGKILL leaves its
 * OUT.tmp.XXXXXX (nothing can run after it, and a later run cannot tell its
 * own leftovers from another run's); SIGTERM and SIGINT remove it. */
START_TEST(test_kill_translate)
{
    static const int sigs[3] = {SIGKILL, SIGTERM, SIGINT};
    char in[4300], tgt[4300], out[4300], log[4300], model[4300], tmp_part[64], *argv[12];
    snprintf(in, sizeof in, "%s/big.in", g_dir);
    snprintf(tgt, sizeof tgt, "%s/big.tgt", g_dir);
    snprintf(out, sizeof out, "%s/big%d.out", g_dir, _i);
    snprintf(tmp_part, sizeof tmp_part, "big%d.out.tmp.", _i);
    snprintf(log, sizeof log, "%s/translate.log", g_dir);
    snprintf(model, sizeof model, "%s/signal1/model.safetensors", g_dir);
    sf_test_write_words(in, tgt, 60000, 0, 5); /* seconds of work, whatever the model */
    char *args[] = {SF_SEQFUSE_BIN, "translate", "-m", model, "-i", in, "-o", out, NULL};
    memcpy(argv, args, sizeof args);
    pid_t pid = start(argv, log);
    /* kill it while it writes: once its temporary output exists (how long a run
     * takes depends on how far the signal test's model was trained) */
    int waited = 0;
    for (; sf_test_count_named(g_dir, tmp_part) < 1 && waited < 1000; waited++)
        sleep_ms(10);
    sleep_ms(50);
    ck_assert_int_eq(kill(pid, sigs[_i]), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sigs[_i],
                  "translate was not ended by %s %d ms after it started writing (status 0x%x)",
                  strsignal(sigs[_i]), 10 * waited + 50, status);
    ck_assert_int_ne(access(out, F_OK), 0);
    int left = sf_test_count_named(g_dir, tmp_part);
    printf("translate -o ended by %s: %d temporary file(s) left\n", strsignal(sigs[_i]), left);
    ck_assert_int_eq(left, sigs[_i] == SIGKILL ? 1 : 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slow_kill");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sigkill_during_saves);
    tcase_add_loop_test(tc, test_stop_signals, 0, 2);
    tcase_add_loop_test(tc, test_kill_translate, 0, 3);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
