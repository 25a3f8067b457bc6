/* test_hardening.c: corrupt model files through the real entry points. A
 * small valid model (SentencePiece models trained here, random weights) is
 * saved once; each case of the table damages it (truncated at each section,
 * bytes overwritten, wrong dtype or shape, missing or extra tensors, bad or
 * missing config keys, overflowing sizes) and checks sf_model_load,
 * sf_translator_open, `seqfuse info` and `seqfuse translate -o`: the status or
 * exit code, a message naming the file and the fault, and no output left.
 * Random byte flips must never crash. (Corpora, configs and resources:
 * test_hardening_data.c.) */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/model_io.h"
#include "search/translator.h"
#include "sf_test.h"

static char g_dir[4096], g_model[4200], g_in[4200];
static sf_model_config g_cfg;
static void *g_spm[2];
static size_t g_spm_n[2];
static uint8_t *g_bytes; /* the valid model file */
static size_t g_size, g_hlen;

/* Save a model with random weights and the tokenizers (Adam moments too when
 * with_adam). */
static void save_model(const sf_model_config *cfg, int with_adam, const char *path)
{
    sf_param_layout l;
    ck_assert_int_eq(sf_param_layout_build(cfg, &l), SF_OK);
    float *p = malloc(sizeof(float) * (size_t)l.total * 3);
    sf_test_randu(p, l.total * 3, -0.1f, 0.1f, 42);
    sf_params_zero_pad_rows(&l, p);
    sf_model_blobs blobs = {g_spm[0], g_spm[1], g_spm_n[0], g_spm_n[1]};
    sf_kv meta[] = {{"created", "test"}};
    sf_status st = sf_model_save(path, cfg, &l, p, with_adam ? p + l.total : NULL,
                                 with_adam ? p + 2 * l.total : NULL, &blobs, meta, 1, SF_F32);
    ck_assert_msg(st == SF_OK, "%s", sf_last_error());
    free(p);
    sf_param_layout_free(&l);
}

static void fixture(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/sftest-hardening-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    char src[4300], tgt[4300], prefix[4300], path[4400];
    snprintf(src, sizeof src, "%s/train.src", g_dir);
    snprintf(tgt, sizeof tgt, "%s/train.tgt", g_dir);
    sf_test_write_words(src, tgt, 200, 1, 3);
    const char *inputs[2] = {src, tgt};
    for (int side = 0; side < 2; side++) {
        sf_spm_train_opts o;
        sf_spm_train_opts_default(&o);
        snprintf(prefix, sizeof prefix, "%s/spm%d", g_dir, side);
        o.inputs = &inputs[side], o.n_inputs = 1, o.model_prefix = prefix, o.vocab_size = 40;
        ck_assert_msg(sf_spm_train(&o) == SF_OK, "%s", sf_last_error());
        snprintf(path, sizeof path, "%s.model", prefix);
        g_spm[side] = sf_test_read_file(path, &g_spm_n[side]);
    }
    sf_spm *s;
    sf_model_config_default(&g_cfg);
    g_cfg.emb_size = 8, g_cfg.hidden_size = 8, g_cfg.enc_layers = g_cfg.dec_layers = 1;
    ck_assert_int_eq(sf_spm_load_bytes(g_spm[0], g_spm_n[0], &s), SF_OK);
    g_cfg.src_vocab_size = sf_spm_vocab_size(s);
    sf_spm_free(s);
    ck_assert_int_eq(sf_spm_load_bytes(g_spm[1], g_spm_n[1], &s), SF_OK);
    g_cfg.tgt_vocab_size = sf_spm_vocab_size(s);
    sf_spm_free(s);
    snprintf(g_model, sizeof g_model, "%s/good.safetensors", g_dir);
    save_model(&g_cfg, 1, g_model);
    g_bytes = (uint8_t *)sf_test_read_file(g_model, &g_size);
    for (int b = 7; b >= 0; b--)
        g_hlen = (g_hlen << 8) | g_bytes[b];
    snprintf(g_in, sizeof g_in, "%s/in.txt", g_dir);
    sf_test_write_file(g_in, "red green blue\n", 15);
}

/* ---------------------------------------------------------------- damage */

typedef enum { CUT, POKE, LENGTH, HEADER, REWRITE, CONFIG, VOCAB } damage_kind;

typedef struct model_case {
    const char *name;
    damage_kind kind;
    int64_t at;          /* CUT: keep this many bytes (< 0: see cut_at); POKE: offset
                            into the data section */
    uint32_t word;       /* POKE: the 4 bytes written there; LENGTH: the high half of
                            the header length */
    const char *from, *to; /* HEADER: text replaced in the header JSON;
                              REWRITE: tensor and what to do ("drop", "add",
                              "i32", "flat", "2d", "junk"); CONFIG: key and JSON
                              value (NULL = remove), or metadata "meta:KEY" */
    sf_status load;      /* expected from sf_model_load */
    const char *msg;     /* expected in every message */
} model_case;

enum { AT_HEADER_MID = -1, AT_DATA = -2, AT_DATA_MID = -3, AT_LAST = -4 };

static const model_case model_cases[] = {
    {"empty file", CUT, 0, 0, NULL, NULL, SF_ERR_FORMAT, "shorter than the 8-byte"},
    {"cut in the length", CUT, 4, 0, NULL, NULL, SF_ERR_FORMAT, "shorter than the 8-byte"},
    {"cut in the header", CUT, AT_HEADER_MID, 0, NULL, NULL, SF_ERR_FORMAT, "truncated"},
    {"cut after the header", CUT, AT_DATA, 0, NULL, NULL, SF_ERR_FORMAT, "truncated"},
    {"cut in the data", CUT, AT_DATA_MID, 0, NULL, NULL, SF_ERR_FORMAT, "truncated"},
    {"last byte missing", CUT, AT_LAST, 0, NULL, NULL, SF_ERR_FORMAT, "truncated"},
    {"NaN weight", POKE, 0, 0x7fc00000u, NULL, NULL, SF_ERR_FORMAT, "holds NaN at element"},
    {"Inf weight", POKE, 4, 0x7f800000u, NULL, NULL, SF_ERR_FORMAT, "holds Inf at element"},
    {"header length huge", LENGTH, 0, 0x10u, NULL, NULL, SF_ERR_FORMAT,
     "exceeds the limit"},
    {"dtype I32", HEADER, 0, 0, "\"generator.bias\":{\"dtype\":\"F32\"",
     "\"generator.bias\":{\"dtype\":\"I32\"", SF_ERR_FORMAT, "expected a float dtype"},
    {"dtype F16, F32 bytes", HEADER, 0, 0, "\"generator.bias\":{\"dtype\":\"F32\"",
     "\"generator.bias\":{\"dtype\":\"F16\"", SF_ERR_FORMAT, "needs"},
    {"unknown dtype", HEADER, 0, 0, "\"generator.bias\":{\"dtype\":\"F32\"",
     "\"generator.bias\":{\"dtype\":\"Q4\"", SF_ERR_FORMAT, "unknown dtype \"Q4\""},
    {"byte size overflows", HEADER, 0, 0, "\"generator.bias\":{\"dtype\":\"F32\",\"shape\":[",
     "\"generator.bias\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296,",
     SF_ERR_FORMAT, "overflows 64 bits"},
    {"negative dimension", HEADER, 0, 0, "\"generator.bias\":{\"dtype\":\"F32\",\"shape\":[",
     "\"generator.bias\":{\"dtype\":\"F32\",\"shape\":[-", SF_ERR_FORMAT,
     "non-negative integer"},
    {"header not JSON", HEADER, 0, 0, "\"generator.bias\":{", "\"generator.bias\"{",
     SF_ERR_FORMAT, "not valid JSON"},
    {"missing tensor", REWRITE, 0, 0, "generator.bias", "drop", SF_ERR_FORMAT,
     "'generator.bias' is missing"},
    {"missing Adam moment", REWRITE, 0, 0, "optim.v.generator.bias", "drop", SF_ERR_FORMAT,
     "only one of the two Adam moments"},
    {"extra tensor", REWRITE, 0, 0, "encoder.extra.weight", "add", SF_ERR_FORMAT,
     "unexpected tensor 'encoder.extra.weight'"},
    {"integer weights", REWRITE, 0, 0, "generator.weight", "i32", SF_ERR_FORMAT,
     "has dtype I32"},
    {"wrong shape", REWRITE, 0, 0, "decoder.attn.linear_in.weight", "flat", SF_ERR_FORMAT,
     "has shape [64], but the config needs [8, 8]"},
    {"tokenizer 2-D", REWRITE, 0, 0, "tokenizer.source", "2d", SF_ERR_FORMAT,
     "must be U8 with one dimension"},
    {"tokenizer missing", REWRITE, 0, 0, "tokenizer.target", "drop", SF_OK,
     "has no tokenizers"},
    {"tokenizer garbage", REWRITE, 0, 0, "tokenizer.target", "junk", SF_OK, "good"},
    {"config key missing", CONFIG, 0, 0, "cell", NULL, SF_ERR_FORMAT,
     "config key 'cell' is missing"},
    {"config key unknown", CONFIG, 0, 0, "layers", "2", SF_ERR_INVALID_ARG,
     "unknown key 'layers'"},
    {"config size negative", CONFIG, 0, 0, "hidden_size", "-8", SF_ERR_INVALID_ARG,
     "hidden_size = -8 is out of range"},
    {"config size zero", CONFIG, 0, 0, "emb_size", "0", SF_ERR_INVALID_ARG,
     "emb_size = 0 is out of range"},
    {"config unknown cell", CONFIG, 0, 0, "cell", "\"transformer\"", SF_ERR_INVALID_ARG,
     "unknown cell 'transformer'"},
    {"config unknown attention", CONFIG, 0, 0, "attention", "\"luong\"", SF_ERR_INVALID_ARG,
     "unknown attention 'luong'"},
    {"config not tensors", CONFIG, 0, 0, "emb_size", "9", SF_ERR_FORMAT,
     "but the config needs"},
    {"config huge model", CONFIG, 0, 0, "hidden_size", "65536", SF_ERR_FORMAT,
     "but the config needs"},
    {"config not an object", CONFIG, 0, 0, "meta:config", "[1,2]", SF_ERR_FORMAT,
     "config is not a JSON object"},
    {"format missing", CONFIG, 0, 0, "meta:format", NULL, SF_ERR_FORMAT,
     "format is missing"},
    {"format newer", CONFIG, 0, 0, "meta:version", "7", SF_ERR_UNSUPPORTED,
     "newer than this build"},
    {"vocabulary not the tokenizer's", VOCAB, 0, 0, NULL, NULL, SF_OK,
     "do not match the config's vocabulary sizes"},
};

static int64_t cut_at(int64_t at)
{
    const int64_t data = 8 + (int64_t)g_hlen;
    switch (at) {
    case AT_HEADER_MID: return 8 + (int64_t)g_hlen / 2;
    case AT_DATA: return data;
    case AT_DATA_MID: return data + ((int64_t)g_size - data) / 2;
    case AT_LAST: return (int64_t)g_size - 1;
    default: return at;
    }
}

/* The good file with text in its header replaced (length and padding fixed). */
static void damage_header(const char *path, const char *from, const char *to)
{
    char *h = strndup((const char *)g_bytes + 8, g_hlen);
    char *hit = strstr(h, from);
    ck_assert_msg(hit != NULL, "'%s' not in the header", from);
    size_t head = (size_t)(hit - h), tail = strlen(hit + strlen(from));
    while (tail > 0 && hit[strlen(from) + tail - 1] == ' ')
        tail--; /* old padding */
    size_t n = head + strlen(to) + tail, padded = (n + 7) / 8 * 8;
    size_t data = g_size - 8 - g_hlen;
    uint8_t *out = malloc(8 + padded + data);
    for (int b = 0; b < 8; b++)
        out[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    memcpy(out + 8, h, head);
    memcpy(out + 8 + head, to, strlen(to));
    memcpy(out + 8 + head + strlen(to), hit + strlen(from), tail);
    memset(out + 8 + n, ' ', padded - n);
    memcpy(out + 8 + padded, g_bytes + 8 + g_hlen, data);
    sf_test_write_file(path, out, 8 + padded + data);
    free(out), free(h);
}

/* File src rewritten tensor by tensor with one change (REWRITE), or with a
 * config key / metadata entry changed (CONFIG). */
static void damage_rewrite(const char *src, const char *path, const model_case *c)
{
    sf_st_file *f;
    ck_assert_int_eq(sf_st_open(src, 0, &f), SF_OK);
    sf_st_writer *w;
    ck_assert_int_eq(sf_st_writer_create(&w), SF_OK);
    for (int64_t i = 0; i < sf_st_meta_count(f); i++)
        sf_st_writer_meta(w, sf_st_meta_key(f, i), sf_st_meta(f, sf_st_meta_key(f, i)));
    for (int64_t i = 0; i < sf_st_count(f); i++) {
        const sf_st_info *t = sf_st_at(f, i);
        const void *data = sf_st_data(f, t);
        int64_t flat = (int64_t)(t->nbytes / (t->dtype == SF_U8 ? 1 : 4)), two[2] = {1, flat};
        int mine = c->kind == REWRITE && !strcmp(t->name, c->from);
        sf_status st = SF_OK;
        if (mine && !strcmp(c->to, "drop"))
            continue;
        if (mine && !strcmp(c->to, "i32"))
            st = sf_st_writer_add(w, t->name, SF_I32, t->ndim, t->shape, data);
        else if (mine && !strcmp(c->to, "flat"))
            st = sf_st_writer_add(w, t->name, t->dtype, 1, &flat, data);
        else if (mine && !strcmp(c->to, "2d"))
            st = sf_st_writer_add(w, t->name, t->dtype, 2, two, data);
        else if (mine && !strcmp(c->to, "junk"))
            st = sf_st_writer_add(w, t->name, SF_U8, 1, &flat, g_bytes + 100);
        else
            st = sf_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data);
        ck_assert_msg(st == SF_OK, "%s", sf_last_error());
    }
    if (c->kind == REWRITE && !strcmp(c->to, "add")) {
        const float two[2] = {1, 2};
        const int64_t n = 2;
        ck_assert_int_eq(sf_st_writer_add(w, c->from, SF_F32, 1, &n, two), SF_OK);
    }
    if (c->kind == CONFIG && !strncmp(c->from, "meta:", 5)) {
        sf_st_writer_free(w);
        /* rebuild without the entry when removing it */
        ck_assert_int_eq(sf_st_writer_create(&w), SF_OK);
        for (int64_t i = 0; i < sf_st_meta_count(f); i++)
            if (strcmp(sf_st_meta_key(f, i), c->from + 5))
                sf_st_writer_meta(w, sf_st_meta_key(f, i), sf_st_meta(f, sf_st_meta_key(f, i)));
        if (c->to)
            sf_st_writer_meta(w, c->from + 5, c->to);
        for (int64_t i = 0; i < sf_st_count(f); i++) {
            const sf_st_info *t = sf_st_at(f, i);
            sf_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, sf_st_data(f, t));
        }
    } else if (c->kind == CONFIG) {
        cJSON *cfg = cJSON_Parse(sf_st_meta(f, "config"));
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, c->from);
        if (c->to)
            cJSON_AddItemToObject(cfg, c->from, cJSON_Parse(c->to));
        char *text = cJSON_PrintUnformatted(cfg);
        sf_st_writer_meta(w, "config", text);
        cJSON_free(text);
        cJSON_Delete(cfg);
    }
    ck_assert_msg(sf_st_writer_save(w, path) == SF_OK, "%s", sf_last_error());
    sf_st_writer_free(w);
    sf_st_close(f);
}

static void make_damaged(const model_case *c, const char *path)
{
    uint8_t *copy = malloc(g_size);
    memcpy(copy, g_bytes, g_size);
    switch (c->kind) {
    case CUT:
        sf_test_write_file(path, copy, (size_t)cut_at(c->at));
        break;
    case POKE: {
        size_t off = (size_t)(8 + (int64_t)g_hlen + c->at);
        memcpy(copy + off, &c->word, 4);
        sf_test_write_file(path, copy, g_size);
        break;
    }
    case LENGTH:
        memcpy(copy + 4, &c->word, 4);
        sf_test_write_file(path, copy, g_size);
        break;
    case HEADER: damage_header(path, c->from, c->to); break;
    case REWRITE:
    case CONFIG: damage_rewrite(g_model, path, c); break;
    case VOCAB: {
        sf_model_config cfg = g_cfg;
        cfg.tgt_vocab_size++;
        save_model(&cfg, 0, path);
        break;
    }
    }
    free(copy);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_model_table)
{
    const model_case *c = &model_cases[_i];
    char path[4300], out[4300], cmd_out[4400];
    snprintf(path, sizeof path, "%s/case%02d.safetensors", g_dir, _i);
    snprintf(out, sizeof out, "%s/case%02d.txt", g_dir, _i);
    make_damaged(c, path);
    /* the loader */
    sf_model_file m;
    sf_status st = sf_model_load(path, &m);
    ck_assert_msg(st == c->load, "%s: sf_model_load gave %s, expected %s: %s", c->name,
                  sf_status_str(st), sf_status_str(c->load), sf_last_error());
    if (st != SF_OK)
        ck_assert_msg(strstr(sf_last_error(), path) && strstr(sf_last_error(), c->msg),
                      "%s: message lacks the file or '%s': %s", c->name, c->msg,
                      sf_last_error());
    sf_model_file_free(&m);
    /* the translator */
    sf_translator *t = (sf_translator *)1;
    st = sf_translator_open(path, "cpu", &t);
    ck_assert_msg(st != SF_OK && t == NULL, "%s: sf_translator_open accepted it", c->name);
    ck_assert_msg(strstr(sf_last_error(), path) &&
                      (strstr(sf_last_error(), c->msg) || !strcmp(c->msg, "good")),
                  "%s: translator message lacks the file or '%s': %s", c->name, c->msg,
                  sf_last_error());
    /* the CLI: info validates, translate fails and leaves no output */
    char *text = NULL;
    int rc = sf_test_cli(&text, "info '%s'", path);
    ck_assert_msg(rc == 1 && strstr(text, path), "%s: seqfuse info exit %d: %s", c->name, rc,
                  text);
    free(text);
    rc = sf_test_cli(&text, "translate -m '%s' -i '%s' -o '%s'", path, g_in, out);
    ck_assert_msg(rc == 1 && strstr(text, path) &&
                      (strstr(text, c->msg) || !strcmp(c->msg, "good")),
                  "%s: seqfuse translate exit %d: %s", c->name, rc, text);
    printf("%s: %s", c->name, text);
    free(text);
    ck_assert_msg(sf_test_read_file(out, NULL) == NULL, "%s: %s was written", c->name, out);
    snprintf(cmd_out, sizeof cmd_out, "case%02d.txt.tmp", _i);
    ck_assert_int_eq(sf_test_count_named(g_dir, cmd_out), 0);
    remove(path);
}
END_TEST

/* The valid file passes every entry point (so the table's failures are the
 * damage's doing). */
START_TEST(test_good_model)
{
    sf_model_file m;
    ck_assert_msg(sf_model_load(g_model, &m) == SF_OK, "%s", sf_last_error());
    ck_assert_ptr_nonnull(m.adam_m);
    sf_model_file_free(&m);
    char out[4300], *text = NULL;
    snprintf(out, sizeof out, "%s/good.txt", g_dir);
    ck_assert_int_eq(sf_test_cli(&text, "info '%s'", g_model), 0);
    free(text);
    int rc = sf_test_cli(&text, "-q translate -m '%s' -i '%s' -o '%s' -b 2", g_model, g_in, out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, text);
    free(text);
    size_t n = 0;
    free(sf_test_read_file(out, &n));
    ck_assert_int_gt(n, 0);
}
END_TEST

/* Random bytes overwritten in the header or the data: never a crash; either
 * the file still loads or the message names it. When it loads, translating a
 * line must work too (tokenizer bytes may be hit). */
START_TEST(test_random_damage)
{
    sf_rng r;
    sf_rng_seed(&r, 2024 + (uint64_t)_i);
    char path[4300];
    snprintf(path, sizeof path, "%s/random%d.safetensors", g_dir, _i);
    uint8_t *copy = malloc(g_size);
    int failed = 0, loaded = 0;
    for (int trial = 0; trial < 60; trial++) {
        memcpy(copy, g_bytes, g_size);
        const size_t lo = _i == 0 ? 8 : 8 + g_hlen, span = _i == 0 ? g_hlen : g_size - lo;
        for (int k = 1 + (int)sf_rng_below(&r, 4); k > 0; k--)
            copy[lo + sf_rng_below(&r, span)] = (uint8_t)sf_rng_below(&r, 256);
        sf_test_write_file(path, copy, g_size);
        sf_translator *t = NULL;
        if (sf_translator_open(path, "cpu", &t) != SF_OK) {
            ck_assert_msg(strstr(sf_last_error(), path), "trial %d: message without the file: "
                          "%s", trial, sf_last_error());
            failed++;
            continue;
        }
        loaded++;
        sf_translate_opts o;
        sf_translate_opts_default(&o);
        o.search.beam = 2;
        char text[] = "red green blue\n", *buf = NULL;
        size_t len = 0;
        FILE *in = fmemopen(text, strlen(text), "r"), *out = open_memstream(&buf, &len);
        sf_translate_stats s;
        ck_assert_int_eq(sf_translate_stream(t, in, "in", out, &o, &s), SF_OK);
        fclose(in), fclose(out);
        ck_assert_int_eq(s.lines, 1);
        free(buf);
        sf_translator_free(t);
    }
    printf("random damage in the %s: %d rejected, %d still usable\n", _i ? "data" : "header",
           failed, loaded);
    free(copy);
    remove(path);
}
END_TEST

static void teardown(void)
{
    free(g_bytes), free(g_spm[0]), free(g_spm[1]);
    sf_test_rmtree(g_dir);
}

/* A damaged training state in a real checkpoint: `--resume` fails with exit
 * 1, naming the checkpoint and the field, instead of casting garbage. */
static const char *const state_cases[][4] = {
    /* metadata key, text replaced, replacement, expected message */
    {"train_state", "\"step\":2,", "\"step\":1e300,", "\"step\" is out of range"},
    {"train_state", "\"step\":2,", "\"step\":-2,", "\"step\" is out of range"},
    {"train_state", "\"step\":2,", "\"step\":2.5,", "\"step\" is not an integer"},
    {"train_state", "\"lr\":", "\"lr\":null,\"was\":", "\"lr\" is not a number"},
    {"train_state", "\"batch\":", "\"batches\":", "\"batch\" is missing"},
    {"train_state", "\"dropout_rng\":[",
     "\"dropout_rng\":[\"0000000000000000\",\"0000000000000000\",\"0000000000000000\","
     "\"0000000000000000\"],\"was\":[", "is all zero"},
    {"train_state", "\"dropout_rng\":[", "\"dropout_rng\":[\"12\",\"1\",\"1\",\"1\"],\"was\":[",
     "4 strings of 16 hex digits"},
    {"train_state", "{", "{{", "train_state metadata is not JSON"},
    {"train_opts", "\"max_tokens\":\"", "\"max_tokens\":\"-", "max_tokens = -"},
};

START_TEST(test_resume_damaged_state)
{
    char run[4300], dir[4300], *text = NULL;
    snprintf(run, sizeof run, "%s/run", g_dir);
    const char *common = "--hidden-size 8 --emb-size 8 --enc-layers 1 --dec-layers 1 "
                         "--threads 1 --max-tokens 200";
    if (_i == 0) { /* one real checkpoint for all cases */
        int rc = sf_test_cli(&text, "-q train --src '%s/train.src' --tgt '%s/train.tgt' "
                             "--src-spm '%s/spm0.model' --tgt-spm '%s/spm1.model' --out '%s' "
                             "%s --max-steps 2", g_dir, g_dir, g_dir, g_dir, run, common);
        ck_assert_msg(rc == 0, "%s", text);
        free(text);
    }
    const char *const *c = state_cases[_i];
    char ckpt[4400], damaged[4400], meta[64];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", run);
    snprintf(dir, sizeof dir, "%s/state%d", g_dir, _i);
    ck_assert_int_eq(system(strcat(strcpy(damaged, "mkdir -p "), dir)), 0);
    snprintf(damaged, sizeof damaged, "%s/checkpoint.safetensors", dir);
    sf_st_file *f;
    ck_assert_int_eq(sf_st_open(ckpt, 0, &f), SF_OK);
    const char *value = sf_st_meta(f, c[0]), *hit = strstr(value, c[1]);
    ck_assert_msg(hit != NULL, "'%s' not in %s", c[1], value);
    char *edited = malloc(strlen(value) + strlen(c[2]) + 1);
    sprintf(edited, "%.*s%s%s", (int)(hit - value), value, c[2], hit + strlen(c[1]));
    snprintf(meta, sizeof meta, "meta:%s", c[0]);
    model_case mc = {"state", CONFIG, 0, 0, meta, edited, SF_OK, NULL};
    damage_rewrite(ckpt, damaged, &mc);
    sf_st_close(f);
    free(edited);
    int rc = sf_test_cli(&text, "train --src '%s/train.src' --tgt '%s/train.tgt' --out '%s' "
                         "--resume %s --max-steps 4", g_dir, g_dir, dir, common);
    ck_assert_msg(rc == 1 && strstr(text, c[3]) && strstr(text, damaged),
                  "case %d (%s): exit %d: %s", _i, c[3], rc, text);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("model files");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, fixture, teardown);
    tcase_add_test(tc, test_good_model);
    tcase_add_loop_test(tc, test_model_table, 0, (int)(sizeof model_cases / sizeof *model_cases));
    tcase_add_loop_test(tc, test_random_damage, 0, 2);
    tcase_add_loop_test(tc, test_resume_damaged_state, 0,
                        (int)(sizeof state_cases / sizeof *state_cases));
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
