/* test_spm.c: the SentencePiece wrapper (src/text/spm.cc): training unigram and
 * BPE on a generated corpus, encode/decode round trips, special ids, loading from
 * file and bytes, determinism, and every error path it promises not to crash on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "seqfuse/seqfuse.h"
#include "sf_test.h"

#define N_CORPUS 400
#define N_TYPES 2

static const char *const k_types[N_TYPES] = {"unigram", "bpe"};
static const char *const k_words[] = {
    "el",     "niño",   "está",    "über",  "la",     "canción", "de",      "mañana",
    "café",   "y",      "agua",    "árbol", "casa",   "pequeña", "grande",  "come",
    "bebe",   "corazón", "Straße", "die",   "fröhlich", "naïve", "façade",  "en",
    "aquí",   "nosotros", "vamos", "the",   "house",  "is",      "small",   "2024",
    "7",      "señor",  "jamás",   "müde",  "Ärger",  "über-all", "¿dónde", "qué",
};
static const char *const k_ends[] = {".", "?", "!", "", ",", ";"};
/* Text whose characters all occur in the corpus, so decoding gives it back. */
static const char *const k_sentences[] = {
    "el niño está aquí.",
    "über die Straße",
    "¿dónde está la canción de mañana?",
    "café y agua, señor",
    "the house is small!",
    "Ärger jamás; müde fröhlich naïve façade 2024 7",
    "nosotros vamos",
    "a",
};
#define N_SENTENCES (int)(sizeof k_sentences / sizeof *k_sentences)

static char g_dir[512];
static char g_corpus[600];
static char g_model[N_TYPES][640];
static int g_ready;

/* n lines of 3-10 words drawn with `seed`, one sentence per line. */
static void write_corpus(const char *path, int n, uint64_t seed)
{
    sf_rng r;
    sf_rng_seed(&r, seed);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    const uint64_t nw = sizeof k_words / sizeof *k_words;
    for (int i = 0; i < n; i++) {
        int len = 3 + (int)sf_rng_below(&r, 8);
        for (int w = 0; w < len; w++)
            fprintf(f, "%s%s", w ? " " : "", k_words[sf_rng_below(&r, nw)]);
        fprintf(f, "%s\n", k_ends[sf_rng_below(&r, sizeof k_ends / sizeof *k_ends)]);
    }
    fclose(f);
}

static void path_in_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static sf_status train_one(const char *input, const char *prefix, const char *type, int vocab)
{
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    const char *in[] = {input};
    o.inputs = in;
    o.n_inputs = 1;
    o.model_prefix = prefix;
    o.model_type = type;
    o.vocab_size = vocab;
    return sf_spm_train(&o);
}

/* The corpus and one model per type, made once for the whole binary. */
static void ensure_models(void)
{
    if (g_ready)
        return;
    sf_test_tmpdir(g_dir, sizeof g_dir);
    path_in_dir(g_corpus, sizeof g_corpus, "corpus.txt");
    write_corpus(g_corpus, N_CORPUS, 7);
    for (int t = 0; t < N_TYPES; t++) {
        char prefix[600];
        path_in_dir(prefix, sizeof prefix, k_types[t]);
        ck_assert_msg(train_one(g_corpus, prefix, k_types[t], 150) == SF_OK, "train %s: %s",
                      k_types[t], sf_last_error());
        snprintf(g_model[t], sizeof g_model[t], "%s.model", prefix);
    }
    g_ready = 1;
}

static sf_spm *load_model(int t)
{
    ensure_models();
    sf_spm *s = NULL;
    ck_assert_msg(sf_spm_load_file(g_model[t], &s) == SF_OK, "load %s: %s", g_model[t],
                  sf_last_error());
    return s;
}

static void assert_error(sf_status got, sf_status want, const char *needle, const char *what)
{
    ck_assert_msg(got == want, "%s: got status %s, expected %s (message: %s)", what,
                  sf_status_str(got), sf_status_str(want), sf_last_error());
    ck_assert_msg(strstr(sf_last_error(), needle) != NULL, "%s: message lacks '%s': %s", what,
                  needle, sf_last_error());
}

START_TEST(test_roundtrip)
{
    sf_spm *s = load_model(_i);
    const int32_t v = sf_spm_vocab_size(s);
    ck_assert_msg(v > 40 && v <= 150, "%s: vocab size %d", k_types[_i], v);
    for (int k = 0; k < N_SENTENCES; k++) {
        const char *txt = k_sentences[k];
        int32_t *ids = NULL;
        int64_t n = 0;
        char *back = NULL, *pieces = NULL, *back2 = NULL;
        ck_assert_msg(sf_spm_encode(s, txt, strlen(txt), &ids, &n) == SF_OK, "%s '%s': %s",
                      k_types[_i], txt, sf_last_error());
        ck_assert_msg(n > 0, "%s '%s': no ids", k_types[_i], txt);
        for (int64_t i = 0; i < n; i++)
            ck_assert_msg(ids[i] > SF_EOS_ID && ids[i] < v, "%s '%s': id %d at %lld",
                          k_types[_i], txt, ids[i], (long long)i);
        ck_assert_int_eq(sf_spm_decode(s, ids, n, &back), SF_OK);
        ck_assert_msg(strcmp(back, txt) == 0, "%s: '%s' came back as '%s'", k_types[_i], txt,
                      back);
        ck_assert_int_eq(sf_spm_encode_pieces(s, txt, strlen(txt), &pieces), SF_OK);
        ck_assert_msg(strstr(pieces, "\xe2\x96\x81") != NULL, "%s '%s': pieces '%s'",
                      k_types[_i], txt, pieces);
        ck_assert_int_eq(sf_spm_decode_pieces(s, pieces, &back2), SF_OK);
        ck_assert_msg(strcmp(back2, txt) == 0, "%s: pieces '%s' came back as '%s'", k_types[_i],
                      pieces, back2);
        sf_free(ids);
        sf_free(back);
        sf_free(pieces);
        sf_free(back2);
    }
    sf_spm_free(s);
}
END_TEST

START_TEST(test_special_ids)
{
    static const char *const special[] = {"<pad>", "<unk>", "<s>", "</s>"};
    sf_spm *s = load_model(_i);
    for (int32_t id = 0; id < 4; id++) {
        const char *piece = NULL;
        ck_assert_int_eq(sf_spm_piece_to_id(s, special[id]), id);
        ck_assert_int_eq(sf_spm_id_to_piece(s, id, &piece), SF_OK);
        ck_assert_msg(strcmp(piece, special[id]) == 0, "%s: id %d is '%s'", k_types[_i], id,
                      piece);
    }
    ck_assert_int_eq(sf_spm_piece_to_id(s, "no-such-piece-xyz"), SF_UNK_ID);
    ck_assert_int_eq(sf_spm_piece_to_id(s, NULL), SF_UNK_ID);
    const int32_t v = sf_spm_vocab_size(s);
    const char *piece = NULL;
    char want[32];
    snprintf(want, sizeof want, "id %d ", v);
    assert_error(sf_spm_id_to_piece(s, v, &piece), SF_ERR_INVALID_ARG, want, "id_to_piece(V)");
    ck_assert_ptr_null(piece);
    assert_error(sf_spm_id_to_piece(s, -1, &piece), SF_ERR_INVALID_ARG, "id -1", "id -1");
    /* a character never seen in training is <unk> */
    int32_t *ids = NULL;
    int64_t n = 0;
    ck_assert_int_eq(sf_spm_encode(s, "日本", strlen("日本"), &ids, &n), SF_OK);
    int unk = 0;
    for (int64_t i = 0; i < n; i++)
        unk += ids[i] == SF_UNK_ID;
    ck_assert_msg(unk > 0, "%s: unseen characters gave no <unk>", k_types[_i]);
    sf_free(ids);
    sf_spm_free(s);
}
END_TEST

/* Same vocabulary and the same ids for every test sentence. */
static void assert_same_model(const sf_spm *a, const sf_spm *b, const char *what)
{
    ck_assert_msg(sf_spm_vocab_size(a) == sf_spm_vocab_size(b), "%s: vocab %d vs %d", what,
                  sf_spm_vocab_size(a), sf_spm_vocab_size(b));
    for (int k = 0; k < N_SENTENCES; k++) {
        int32_t *x = NULL, *y = NULL;
        int64_t nx = 0, ny = 0;
        const char *txt = k_sentences[k];
        ck_assert_int_eq(sf_spm_encode(a, txt, strlen(txt), &x, &nx), SF_OK);
        ck_assert_int_eq(sf_spm_encode(b, txt, strlen(txt), &y, &ny), SF_OK);
        ck_assert_msg(nx == ny && memcmp(x, y, (size_t)nx * sizeof *x) == 0,
                      "%s: '%s' encodes differently", what, txt);
        sf_free(x);
        sf_free(y);
    }
}

START_TEST(test_bytes)
{
    sf_spm *file = load_model(_i), *mem = NULL, *again = NULL;
    size_t n = 0;
    char *bytes = sf_test_read_file(g_model[_i], &n);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_msg(sf_spm_load_bytes(bytes, n, &mem) == SF_OK, "%s", sf_last_error());
    assert_same_model(file, mem, "file vs bytes");
    void *ser = NULL;
    size_t nser = 0;
    ck_assert_int_eq(sf_spm_serialize(mem, &ser, &nser), SF_OK);
    ck_assert_msg(nser == n && memcmp(ser, bytes, n) == 0,
                  "%s: serialized model (%zu bytes) differs from the .model file (%zu bytes)",
                  k_types[_i], nser, n);
    ck_assert_int_eq(sf_spm_load_bytes(ser, nser, &again), SF_OK);
    assert_same_model(file, again, "file vs serialized");
    sf_free(ser);
    free(bytes);
    sf_spm_free(file);
    sf_spm_free(mem);
    sf_spm_free(again);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    static const struct {
        const char *text;
        const char *at;
    } cases[] = {
        {"\xff", "byte 0 "},
        {"abc\xc3", "byte 3 "},            /* truncated sequence */
        {"ni\xc3\xb1o \xed\xa0\x80", "byte 6 "}, /* surrogate U+D800 */
        {"x\xc0\xaf", "byte 1 "},          /* overlong '/' */
    };
    sf_spm *s = load_model(_i);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const char *t = cases[k].text;
        int32_t *ids = NULL;
        int64_t n = 7;
        char *pieces = NULL, *text = NULL, what[64];
        snprintf(what, sizeof what, "%s case %zu", k_types[_i], k);
        assert_error(sf_spm_encode(s, t, strlen(t), &ids, &n), SF_ERR_INVALID_ARG, cases[k].at,
                     what);
        ck_assert_ptr_null(ids);
        ck_assert_int_eq(n, 0);
        assert_error(sf_spm_encode_pieces(s, t, strlen(t), &pieces), SF_ERR_INVALID_ARG,
                     cases[k].at, what);
        assert_error(sf_spm_decode_pieces(s, t, &text), SF_ERR_INVALID_ARG, cases[k].at, what);
        ck_assert_ptr_null(pieces);
        ck_assert_ptr_null(text);
    }
    sf_spm_free(s);
}
END_TEST

START_TEST(test_empty_and_bad_ids)
{
    sf_spm *s = load_model(_i);
    int32_t *ids = NULL;
    int64_t n = 5;
    char *text = NULL;
    ck_assert_int_eq(sf_spm_encode(s, "", 0, &ids, &n), SF_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(ids);
    sf_free(ids);
    ck_assert_int_eq(sf_spm_encode_pieces(s, "", 0, &text), SF_OK);
    ck_assert_str_eq(text, "");
    sf_free(text);
    ck_assert_int_eq(sf_spm_decode(s, NULL, 0, &text), SF_OK);
    ck_assert_str_eq(text, "");
    sf_free(text);
    ck_assert_int_eq(sf_spm_decode_pieces(s, "   ", &text), SF_OK);
    ck_assert_str_eq(text, "");
    sf_free(text);
    /* control ids decode to nothing */
    const int32_t ctl[] = {SF_BOS_ID, SF_PAD_ID, SF_EOS_ID};
    ck_assert_int_eq(sf_spm_decode(s, ctl, 3, &text), SF_OK);
    ck_assert_str_eq(text, "");
    sf_free(text);
    const int32_t v = sf_spm_vocab_size(s);
    const int32_t bad[][2] = {{5, v}, {-3, 4}, {4, v + 1000}};
    for (int k = 0; k < 3; k++) {
        char want[64], what[32];
        const int32_t id = bad[k][0] >= 0 && bad[k][0] < v ? bad[k][1] : bad[k][0];
        snprintf(want, sizeof want, "id %d ", id);
        snprintf(what, sizeof what, "bad ids case %d", k);
        assert_error(sf_spm_decode(s, bad[k], 2, &text), SF_ERR_INVALID_ARG, want, what);
        snprintf(want, sizeof want, "[0, %d)", v);
        ck_assert_msg(strstr(sf_last_error(), want), "%s: no vocab size: %s", what,
                      sf_last_error());
        ck_assert_ptr_null(text);
    }
    assert_error(sf_spm_decode(s, NULL, -1, &text), SF_ERR_INVALID_ARG, "n = -1", "n < 0");
    sf_spm_free(s);
}
END_TEST

START_TEST(test_load_errors)
{
    ensure_models();
    char missing[600], garbage[600];
    sf_spm *s = (sf_spm *)(uintptr_t)1; /* failures must reset it to NULL */
    path_in_dir(missing, sizeof missing, "no-such.model");
    assert_error(sf_spm_load_file(missing, &s), SF_ERR_IO, missing, "missing model");
    ck_assert_ptr_null(s);
    assert_error(sf_spm_load_file(g_dir, &s), SF_ERR_IO, "folder", "model is a folder");
    static const char junk[] = "this is not a SentencePiece model\n\x01\x02\xff";
    path_in_dir(garbage, sizeof garbage, "garbage.model");
    sf_test_write_file(garbage, junk, sizeof junk);
    assert_error(sf_spm_load_file(garbage, &s), SF_ERR_TOKENIZER, garbage, "garbage file");
    ck_assert_ptr_null(s);
    assert_error(sf_spm_load_bytes(junk, sizeof junk, &s), SF_ERR_TOKENIZER, "bytes of model data",
                 "garbage bytes");
    ck_assert_ptr_null(s);
    assert_error(sf_spm_load_bytes(junk, 0, &s), SF_ERR_INVALID_ARG, "n = 0", "zero bytes");
    assert_error(sf_spm_load_file(NULL, &s), SF_ERR_INVALID_ARG, "NULL", "NULL path");
    /* a model with SentencePiece's default ids (<unk>=0 <s>=1 </s>=2, no <pad>) */
    char *out = NULL, cmd[2048], prefix[600];
    path_in_dir(prefix, sizeof prefix, "defaults");
    snprintf(cmd, sizeof cmd,
             "command -v spm_train >/dev/null || exit 77; spm_train --input='%s' "
             "--model_prefix='%s' --vocab_size=100 --hard_vocab_limit=false "
             "--minloglevel=2",
             g_corpus, prefix);
    int rc = sf_test_sh(cmd, &out);
    free(out);
    if (rc == 77) {
        fprintf(stderr, "test_load_errors: no spm_train on PATH; other-ids case skipped\n");
        return;
    }
    ck_assert_msg(rc == 0, "spm_train failed (%d)", rc);
    strcat(prefix, ".model");
    assert_error(sf_spm_load_file(prefix, &s), SF_ERR_TOKENIZER, "<pad>=-1 <unk>=0",
                 "default ids");
    ck_assert_ptr_null(s);
}
END_TEST

typedef struct {
    const char *name;
    const char *input;      /* NULL: the corpus */
    const char *prefix_dir; /* NULL: the temp folder */
    const char *type;
    int vocab, hard, threads;
    float coverage;
    int64_t sample;
    sf_status want;
    const char *needle; /* NULL: the input path */
} train_case;

START_TEST(test_train_errors)
{
    ensure_models();
    char empty[600], blank[600], missing[600];
    path_in_dir(empty, sizeof empty, "empty.txt");
    path_in_dir(blank, sizeof blank, "blank.txt");
    path_in_dir(missing, sizeof missing, "missing.txt");
    sf_test_write_file(empty, "", 0);
    sf_test_write_file(blank, "\n\r\n\n", 4);
    const train_case cases[] = {
        /* name, input, prefix folder, type, vocab, hard, threads, coverage, sample,
         * expected status, text the message must hold (NULL: the input path) */
        {"missing input", missing, NULL, "unigram", 100, 0, 2, 1.0f, 0, SF_ERR_IO, NULL},
        {"input is a folder", g_dir, NULL, "unigram", 100, 0, 2, 1.0f, 0, SF_ERR_IO, "folder"},
        {"empty input", empty, NULL, "unigram", 100, 0, 2, 1.0f, 0, SF_ERR_INVALID_ARG, NULL},
        {"blank lines", blank, NULL, "bpe", 100, 0, 2, 1.0f, 0, SF_ERR_INVALID_ARG, "no non-"},
        {"blank sampled", blank, NULL, "bpe", 100, 0, 2, 1.0f, 10, SF_ERR_INVALID_ARG, "no non-"},
        {"vocab 4", NULL, NULL, "unigram", 4, 0, 2, 1.0f, 0, SF_ERR_INVALID_ARG, "vocab_size 4"},
        {"model type", NULL, NULL, "word", 100, 0, 2, 1.0f, 0, SF_ERR_INVALID_ARG, "'word'"},
        {"coverage", NULL, NULL, "bpe", 100, 0, 2, 0.5f, 0, SF_ERR_INVALID_ARG, "coverage 0.5"},
        {"threads", NULL, NULL, "bpe", 100, 0, 0, 1.0f, 0, SF_ERR_INVALID_ARG, "num_threads 0"},
        {"sample < 0", NULL, NULL, "bpe", 100, 0, 2, 1.0f, -1, SF_ERR_INVALID_ARG, "size -1"},
        {"no out folder", NULL, "/nonexistent-sf", "bpe", 100, 0, 2, 1.0f, 0, SF_ERR_IO,
         "does not exist"},
        {"vocab below chars", NULL, NULL, "unigram", 10, 0, 2, 1.0f, 0, SF_ERR_TOKENIZER,
         "required_chars"},
        {"hard limit", NULL, NULL, "unigram", 5000, 1, 2, 1.0f, 0, SF_ERR_TOKENIZER, "too high"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const train_case *c = &cases[k];
        char prefix[600];
        snprintf(prefix, sizeof prefix, "%s/err%zu", c->prefix_dir ? c->prefix_dir : g_dir, k);
        sf_spm_train_opts o;
        sf_spm_train_opts_default(&o);
        const char *in[] = {c->input ? c->input : g_corpus};
        o.inputs = in;
        o.n_inputs = 1;
        o.model_prefix = prefix;
        o.model_type = c->type;
        o.vocab_size = c->vocab;
        o.hard_vocab_limit = c->hard;
        o.num_threads = c->threads;
        o.character_coverage = c->coverage;
        o.input_sentence_size = c->sample;
        assert_error(sf_spm_train(&o), c->want, c->needle ? c->needle : in[0], c->name);
    }
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    assert_error(sf_spm_train(&o), SF_ERR_INVALID_ARG, "n_inputs = 0", "no inputs");
    assert_error(sf_spm_train(NULL), SF_ERR_INVALID_ARG, "NULL", "NULL options");
}
END_TEST

/* vocab_size is an upper bound: 5000 on ten lines still trains, with fewer pieces. */
START_TEST(test_vocab_upper_bound)
{
    ensure_models();
    char tiny[600], prefix[600], model[640];
    path_in_dir(tiny, sizeof tiny, "tiny.txt");
    write_corpus(tiny, 10, 3);
    snprintf(prefix, sizeof prefix, "%s/tiny-%s", g_dir, k_types[_i]);
    ck_assert_msg(train_one(tiny, prefix, k_types[_i], 5000) == SF_OK, "%s: %s", k_types[_i],
                  sf_last_error());
    snprintf(model, sizeof model, "%s.model", prefix);
    sf_spm *s = NULL;
    ck_assert_int_eq(sf_spm_load_file(model, &s), SF_OK);
    const int32_t v = sf_spm_vocab_size(s);
    ck_assert_msg(v > 4 && v < 5000, "%s: vocab %d", k_types[_i], v);
    sf_spm_free(s);
}
END_TEST

/* Trains PREFIX.model from the corpus and returns its bytes (malloc'd). */
static char *train_bytes(const char *const *inputs, int n_inputs, const char *type,
                         int64_t sample, uint64_t seed, size_t *n)
{
    char prefix[600], model[640];
    path_in_dir(prefix, sizeof prefix, "det");
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    o.inputs = inputs;
    o.n_inputs = n_inputs;
    o.model_prefix = prefix;
    o.model_type = type;
    o.vocab_size = 120;
    o.num_threads = 2;
    o.input_sentence_size = sample;
    o.seed = seed;
    ck_assert_msg(sf_spm_train(&o) == SF_OK, "%s: %s", type, sf_last_error());
    snprintf(model, sizeof model, "%s.model", prefix);
    char *b = sf_test_read_file(model, n);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* Same options and seed, same bytes (2 threads); sampling follows the seed. The
 * prefix is the same each time since the model records it. */
START_TEST(test_determinism)
{
    ensure_models();
    const char *in[] = {g_corpus};
    const char *type = k_types[_i];
    size_t n1, n2, n3, n4;
    char *a = train_bytes(in, 1, type, 0, 1, &n1);
    char *b = train_bytes(in, 1, type, 0, 1, &n2);
    ck_assert_msg(n1 == n2 && memcmp(a, b, n1) == 0, "%s: two runs differ", type);
    char *c = train_bytes(in, 1, type, 150, 42, &n3);
    char *d = train_bytes(in, 1, type, 150, 42, &n4);
    ck_assert_msg(n3 == n4 && memcmp(c, d, n3) == 0, "%s: sampled runs differ", type);
    free(d);
    d = train_bytes(in, 1, type, 150, 43, &n4);
    ck_assert_msg(n3 != n4 || memcmp(c, d, n3) != 0, "%s: seed 43 drew the same model as 42",
                  type);
    free(a);
    free(b);
    free(c);
    free(d);
}
END_TEST

/* Several inputs, one with a comma in its name and CRLF line ends. */
START_TEST(test_comma_inputs)
{
    ensure_models();
    char comma[600], crlf[600], prefix[600], model[640];
    path_in_dir(comma, sizeof comma, "part,one.txt");
    path_in_dir(crlf, sizeof crlf, "crlf.txt");
    write_corpus(comma, 100, 11);
    static const char lines[] = "el niño está aquí\r\nla casa grande\r\n";
    sf_test_write_file(crlf, lines, sizeof lines - 1);
    const char *in[] = {comma, crlf};
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    path_in_dir(prefix, sizeof prefix, "multi");
    o.inputs = in;
    o.n_inputs = 2;
    o.model_prefix = prefix;
    o.vocab_size = 100;
    ck_assert_msg(sf_spm_train(&o) == SF_OK, "%s", sf_last_error());
    snprintf(model, sizeof model, "%s.model", prefix);
    sf_spm *s = NULL;
    ck_assert_int_eq(sf_spm_load_file(model, &s), SF_OK);
    for (int32_t id = 0; id < sf_spm_vocab_size(s); id++) {
        const char *piece = NULL;
        ck_assert_int_eq(sf_spm_id_to_piece(s, id, &piece), SF_OK);
        ck_assert_msg(strchr(piece, '\r') == NULL, "piece %d holds a CR", id);
    }
    sf_spm_free(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("spm");
    TCase *tc = tcase_create("encode");
    tcase_add_loop_test(tc, test_roundtrip, 0, N_TYPES);
    tcase_add_loop_test(tc, test_special_ids, 0, N_TYPES);
    tcase_add_loop_test(tc, test_invalid_utf8, 0, N_TYPES);
    tcase_add_loop_test(tc, test_empty_and_bad_ids, 0, N_TYPES);
    suite_add_tcase(su, tc);
    tc = tcase_create("load");
    tcase_add_loop_test(tc, test_bytes, 0, N_TYPES);
    tcase_add_test(tc, test_load_errors);
    suite_add_tcase(su, tc);
    tc = tcase_create("train");
    tcase_add_test(tc, test_train_errors);
    tcase_add_loop_test(tc, test_vocab_upper_bound, 0, N_TYPES);
    tcase_add_loop_test(tc, test_determinism, 0, N_TYPES);
    tcase_add_test(tc, test_comma_inputs);
    suite_add_tcase(su, tc);
    int rc = sf_test_main(su);
    if (g_ready)
        sf_test_rmtree(g_dir);
    return rc;
}
