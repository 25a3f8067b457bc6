/* test_safetensors.c: the safetensors reader and writer: round trips of every
 * dtype, the fixture made by scripts/make_st_fixture.py, a table of corrupt
 * files (exact status and message each), truncation at every length, byte
 * flips, and the atomic save. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tensor.h"
#include "seqfuse/modelfile.h"
#include "sf_test.h"

/* ---------------------------------------------------------------- helpers */

/* Assert a status and (when sub is non-NULL) a substring of the message. */
static void expect_st(const char *ctx, sf_status got, sf_status want, const char *sub)
{
    ck_assert_msg(got == want, "%s: status \"%s\", expected \"%s\" (message: %s)", ctx,
                  sf_status_str(got), sf_status_str(want), sf_last_error());
    if (sub)
        ck_assert_msg(strstr(sf_last_error(), sub) != NULL,
                      "%s: message \"%s\" lacks \"%s\"", ctx, sf_last_error(), sub);
}

/* A file: 8-byte length + json (with ' turned into ") + data_len pattern bytes. */
static uint8_t *make_blob(const char *json, size_t data_len, size_t *n)
{
    size_t jl = strlen(json);
    uint8_t *b = malloc(8 + jl + data_len + 1);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(((uint64_t)jl >> (8 * i)) & 0xff);
    for (size_t i = 0; i < jl; i++)
        b[8 + i] = json[i] == '\'' ? '"' : (uint8_t)json[i];
    for (size_t i = 0; i < data_len; i++)
        b[8 + jl + i] = (uint8_t)(i * 7 + 1);
    *n = 8 + jl + data_len;
    return b;
}

/* 1 if folder dir holds a file whose name contains ".tmp." */
static int has_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        found |= strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---------------------------------------------------------------- corrupt table */

/* Two valid tensors: a F32 [2] at [0, 8], b U8 [3] at [8, 11]; data 11 bytes. */
#define T_A "'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}"
#define T_B "'b':{'dtype':'U8','shape':[3],'data_offsets':[8,11]}"
#define VALID "{" T_A "," T_B "}"
#define META_OK "'__metadata__':{'format':'seqfuse','version':'1','config':'{\\'cell\\':1}'}"
#define ENTRY(name, dtype, shape, offs) \
    "'" name "':{'dtype':" dtype ",'shape':" shape ",'data_offsets':" offs "}"
#define SEQ_META(fmt_ver_cfg) "{'__metadata__':{" fmt_ver_cfg "}," T_A "," T_B "}"

enum { MUT_NONE, MUT_TRUNC, MUT_SETLEN };

typedef struct corrupt_case {
    const char *name;
    const char *json;
    size_t data_len;
    unsigned flags;
    int mut;         /* MUT_TRUNC: cut the file to arg bytes (negative: from the end);
                        MUT_SETLEN: store arg as the header length */
    int64_t arg;
    sf_status st;
    const char *msg; /* distinctive substring of the message */
} corrupt_case;

#define SEQ SF_ST_SEQFUSE
#define FMT SF_ERR_FORMAT
static const corrupt_case corrupt_cases[] = {
    {"valid", VALID, 11, 0, MUT_NONE, 0, SF_OK, NULL},
    {"valid seqfuse", "{" META_OK "," T_A "," T_B "}", 11, SEQ, MUT_NONE, 0, SF_OK, NULL},
    {"valid empty", "{}", 0, 0, MUT_NONE, 0, SF_OK, NULL},
    {"valid padded", VALID "   ", 11, 0, MUT_NONE, 0, SF_OK, NULL},
    {"trunc in length", VALID, 11, 0, MUT_TRUNC, 5, FMT, "shorter than the 8-byte"},
    {"trunc empty", VALID, 11, 0, MUT_TRUNC, 0, FMT, "file is 0 bytes"},
    {"trunc in header", VALID, 11, 0, MUT_TRUNC, 18, FMT, "exceeds file size"},
    {"trunc in data", VALID, 11, 0, MUT_TRUNC, -3, FMT, "outside the data section"},
    {"len 2^63", VALID, 11, 0, MUT_SETLEN, INT64_MIN, FMT, "header length 9223372036854775808 "
     "exceeds the limit"},
    {"len 0", VALID, 11, 0, MUT_SETLEN, 0, FMT, "header length is 0"},
    {"len past file", VALID, 11, 0, MUT_SETLEN, (int64_t)sizeof VALID - 1 + 12, FMT,
     "exceeds file size"},
    {"len short", VALID, 11, 0, MUT_SETLEN, 20, FMT, "not valid JSON"},
    {"bad json", "{'a':", 0, 0, MUT_NONE, 0, FMT, "header is not valid JSON (parse error"},
    {"trailing junk", "{} x", 0, 0, MUT_NONE, 0, FMT, "extra bytes after the JSON"},
    {"not object", "[1,2]", 0, 0, MUT_NONE, 0, FMT, "header JSON is an array"},
    {"leading space", " {}", 0, 0, MUT_NONE, 0, FMT, "must begin with '{'"},
    {"bad utf8", "{'\xff':1}", 0, 0, MUT_NONE, 0, FMT, "not valid UTF-8"},
    {"control byte", "{'a\x01':1}", 0, 0, MUT_NONE, 0, FMT, "control byte 0x01"},
    {"entry not object", "{'a':5}", 0, 0, MUT_NONE, 0, FMT, "tensor 'a': entry is a number"},
    {"missing dtype", "{'a':{'shape':[2],'data_offsets':[0,8]}}", 8, 0, MUT_NONE, 0, FMT,
     "tensor 'a': missing \"dtype\""},
    {"dtype not string", "{" ENTRY("a", "5", "[2]", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "\"dtype\" is a number"},
    {"bad dtype", "{" ENTRY("a", "'F8'", "[2]", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "unknown dtype \"F8\""},
    {"missing shape", "{'a':{'dtype':'F32','data_offsets':[0,8]}}", 8, 0, MUT_NONE, 0, FMT,
     "missing \"shape\""},
    {"shape not array", "{" ENTRY("a", "'F32'", "2", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "\"shape\" is a number"},
    {"negative dim", "{" ENTRY("a", "'F32'", "[-2]", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "shape[0] is -2"},
    {"fractional dim", "{" ENTRY("a", "'F32'", "[2,1.5]", "[0,8]") "}", 8, 0, MUT_NONE, 0,
     FMT, "shape[1] is 1.5"},
    {"string dim", "{" ENTRY("a", "'F32'", "['2']", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "shape[0] is \"2\""},
    {"dim above 2^53", "{" ENTRY("a", "'U8'", "[18014398509481984]", "[0,8]") "}", 8, 0,
     MUT_NONE, 0, FMT, "shape[0] is"},
    {"too many dims", "{" ENTRY("a", "'U8'", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", 1, 0,
     MUT_NONE, 0, FMT, "shape has 9 dims, at most 8"},
    {"numel overflow", "{" ENTRY("a", "'U8'", "[1099511627776,1099511627776,1099511627776]",
     "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT, "element count overflows"},
    {"bytes overflow", "{" ENTRY("a", "'F64'", "[9007199254740992,256]", "[0,8]") "}", 8, 0,
     MUT_NONE, 0, FMT, "byte size overflows"},
    {"missing offsets", "{'a':{'dtype':'F32','shape':[2]}}", 8, 0, MUT_NONE, 0, FMT,
     "missing \"data_offsets\""},
    {"offsets not pair", "{" ENTRY("a", "'F32'", "[2]", "[0]") "}", 8, 0, MUT_NONE, 0, FMT,
     "\"data_offsets\" is [0]"},
    {"negative offset", "{" ENTRY("a", "'F32'", "[2]", "[-1,7]") "}", 8, 0, MUT_NONE, 0, FMT,
     "\"data_offsets\" is [-1,7]"},
    {"end before begin", "{" ENTRY("a", "'F32'", "[2]", "[8,0]") "}", 8, 0, MUT_NONE, 0, FMT,
     "[8, 0] end before begin"},
    {"size mismatch", "{" ENTRY("a", "'F32'", "[3]", "[0,8]") "}", 8, 0, MUT_NONE, 0, FMT,
     "hold 8 bytes, but F32 x shape [3] needs 12 bytes"},
    {"offsets out of range", "{" ENTRY("a", "'F32'", "[2]", "[0,8]") "}", 4, 0, MUT_NONE, 0,
     FMT, "[0, 8] outside the data section (4 bytes"},
    {"overlap", "{" T_A "," ENTRY("b", "'U8'", "[3]", "[6,9]") "}", 9, 0, MUT_NONE, 0, FMT,
     "tensors 'a' [0, 8] and 'b' [6, 9] overlap"},
    {"hole", "{" T_A "," ENTRY("b", "'U8'", "[3]", "[9,12]") "}", 12, 0, MUT_NONE, 0, FMT,
     "bytes [8, 9) belong to no tensor"},
    {"uncovered tail", "{" T_A "}", 10, 0, MUT_NONE, 0, FMT, "tensors cover only 8"},
    {"duplicate names", "{" T_A "," T_A "}", 8, 0, MUT_NONE, 0, FMT,
     "duplicate tensor name 'a'"},
    {"duplicate field", "{'a':{'dtype':'F32','dtype':'F32','shape':[2],'data_offsets':[0,8]}}",
     8, 0, MUT_NONE, 0, FMT, "duplicate key \"dtype\""},
    {"meta not object", "{'__metadata__':'x'," T_A "," T_B "}", 11, 0, MUT_NONE, 0, FMT,
     "__metadata__ is a string, expected an object"},
    {"meta non-string", "{'__metadata__':{'k':1}," T_A "," T_B "}", 11, 0, MUT_NONE, 0, FMT,
     "__metadata__ entry 'k' is a number"},
    {"meta duplicate key", "{'__metadata__':{'k':'1','k':'2'}}", 0, 0, MUT_NONE, 0, FMT,
     "duplicate __metadata__ key 'k'"},
    {"meta twice", "{'__metadata__':{},'__metadata__':{}}", 0, 0, MUT_NONE, 0, FMT,
     "duplicate \"__metadata__\""},
    {"sf missing meta", VALID, 11, SEQ, MUT_NONE, 0, FMT, "no __metadata__"},
    {"sf wrong format", SEQ_META("'format':'pytorch','version':'1','config':'{}'"), 11, SEQ,
     MUT_NONE, 0, FMT, "format is \"pytorch\", expected \"seqfuse\""},
    {"sf no format", SEQ_META("'version':'1','config':'{}'"), 11, SEQ, MUT_NONE, 0, FMT,
     "format is missing"},
    {"sf no version", SEQ_META("'format':'seqfuse','config':'{}'"), 11, SEQ, MUT_NONE, 0, FMT,
     "version is missing"},
    {"sf version text", SEQ_META("'format':'seqfuse','version':'v1','config':'{}'"), 11, SEQ,
     MUT_NONE, 0, FMT, "version \"v1\" is not a positive integer"},
    {"sf version 0", SEQ_META("'format':'seqfuse','version':'0','config':'{}'"), 11, SEQ,
     MUT_NONE, 0, FMT, "version \"0\" is not a positive integer"},
    {"sf version 99", SEQ_META("'format':'seqfuse','version':'99','config':'{}'"), 11, SEQ,
     MUT_NONE, 0, SF_ERR_UNSUPPORTED, "version 99 is newer than this build reads (up to 1); "
     "upgrade seqfuse"},
    {"sf no config", SEQ_META("'format':'seqfuse','version':'1'"), 11, SEQ, MUT_NONE, 0, FMT,
     "config is missing"},
    {"sf config not json", SEQ_META("'format':'seqfuse','version':'1','config':'cell=lstm'"),
     11, SEQ, MUT_NONE, 0, FMT, "config is not a JSON object (got \"cell=lstm\")"},
    {"sf config array", SEQ_META("'format':'seqfuse','version':'1','config':'[1]'"), 11, SEQ,
     MUT_NONE, 0, FMT, "config is not a JSON object"},
};

static uint8_t *build_case(const corrupt_case *c, size_t *n)
{
    uint8_t *b = make_blob(c->json, c->data_len, n);
    if (c->mut == MUT_TRUNC)
        *n = c->arg >= 0 ? (size_t)c->arg : *n - (size_t)-c->arg;
    if (c->mut == MUT_SETLEN)
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(((uint64_t)c->arg >> (8 * i)) & 0xff);
    return b;
}

static void check_case(const corrupt_case *c, const char *where, sf_status st, sf_st_file *f)
{
    char ctx[300];
    snprintf(ctx, sizeof ctx, "case '%s' (%s)", c->name, where);
    expect_st(ctx, st, c->st, c->msg);
    if (c->st == SF_OK) {
        ck_assert_msg(f != NULL, "%s: no file handle", ctx);
        sf_st_close(f);
        return;
    }
    ck_assert_msg(f == NULL, "%s: handle set on failure", ctx);
    ck_assert_msg(strstr(sf_last_error(), where) != NULL, "%s: message \"%s\" does not name "
                  "the file", ctx, sf_last_error());
}

START_TEST(test_corrupt_table)
{
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof corrupt_cases / sizeof *corrupt_cases; i++) {
        const corrupt_case *c = &corrupt_cases[i];
        size_t n;
        uint8_t *b = build_case(c, &n);
        sf_st_file *f = (sf_st_file *)1;
        sf_clear_error();
        sf_status st = sf_st_open_memory(b, n, c->name, c->flags, &f);
        check_case(c, c->name, st, f);
        snprintf(path, sizeof path, "%s/case%02zu.safetensors", dir, i);
        sf_test_write_file(path, b, n);
        f = (sf_st_file *)1;
        st = sf_st_open(path, c->flags, &f);
        check_case(c, path, st, f);
        free(b);
    }
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_open_errors)
{
    sf_st_file *f = (sf_st_file *)1;
    expect_st("missing file", sf_st_open("/nonexistent/m.safetensors", 0, &f), SF_ERR_IO,
              "cannot open /nonexistent/m.safetensors: No such file or directory");
    ck_assert_ptr_null(f);
    expect_st("folder", sf_st_open("/tmp", 0, &f), SF_ERR_IO, "/tmp is not a regular file");
    size_t n;
    uint8_t *b = make_blob(VALID, 11, &n);
    expect_st("bad flags", sf_st_open_memory(b, n, "mem", 0x80, &f), SF_ERR_INVALID_ARG,
              "unknown flags 0x80");
    expect_st("null out", sf_st_open_memory(b, n, "mem", 0, NULL), SF_ERR_INVALID_ARG, NULL);
    expect_st("null data", sf_st_open_memory(NULL, 5, "mem", 0, &f), SF_ERR_INVALID_ARG,
              "data is NULL");
    free(b);
    sf_st_close(NULL);
}
END_TEST

/* ---------------------------------------------------------------- fuzz-ish loops */

static uint8_t *fixture_bytes(size_t *n)
{
    char *b = sf_test_read_file(SF_TEST_DATA_DIR "/st_fixture.safetensors", n);
    ck_assert_msg(b != NULL, "cannot read the fixture (run scripts/make_st_fixture.py)");
    return (uint8_t *)b;
}

START_TEST(test_truncate_every_length)
{
    size_t n;
    uint8_t *b = fixture_bytes(&n);
    for (size_t len = 0; len <= n; len++) {
        sf_st_file *f = NULL;
        sf_clear_error();
        sf_status st = sf_st_open_memory(b, len, "trunc", SF_ST_SEQFUSE, &f);
        if (len == n) {
            ck_assert_msg(st == SF_OK, "full length %zu: %s", n, sf_last_error());
            ck_assert_int_eq(sf_st_count(f), 8);
        } else {
            ck_assert_msg(st == SF_ERR_FORMAT, "length %zu of %zu: status %s", len, n,
                          sf_status_str(st));
            ck_assert_msg(f == NULL && strstr(sf_last_error(), "trunc") != NULL,
                          "length %zu: message \"%s\"", len, sf_last_error());
        }
        sf_st_close(f);
    }
    free(b);
}
END_TEST

/* Change every header byte to a few values: never a crash; if the file still
 * opens, every tensor lies inside the data section. */
START_TEST(test_flip_every_header_byte)
{
    size_t n;
    uint8_t *b = fixture_bytes(&n);
    const uint8_t vals[] = {0x00, '"', '9', '}', 0xff};
    size_t hend = 8 + (size_t)le64(b);
    for (size_t i = 0; i < hend; i++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            uint8_t old = b[i];
            b[i] = vals[v];
            sf_st_file *f = NULL;
            sf_status st = sf_st_open_memory(b, n, "flip", 0, &f);
            ck_assert_msg(st == SF_OK || strlen(sf_last_error()) > 0,
                          "byte %zu = 0x%02x: failure without a message", i, vals[v]);
            uint64_t covered = 0;
            for (int64_t k = 0; st == SF_OK && k < sf_st_count(f); k++)
                covered += sf_st_at(f, k)->nbytes;
            ck_assert_msg(st != SF_OK || covered == n - hend, "byte %zu = 0x%02x: tensors "
                          "cover %llu of %zu data bytes", i, vals[v],
                          (unsigned long long)covered, n - hend);
            sf_st_close(f);
            b[i] = old;
        }
    }
    free(b);
}
END_TEST

/* ---------------------------------------------------------------- fixture */

START_TEST(test_fixture)
{
    sf_st_file *f = NULL;
    const char *path = SF_TEST_DATA_DIR "/st_fixture.safetensors";
    expect_st("fixture", sf_st_open(path, SF_ST_SEQFUSE, &f), SF_OK, NULL);
    const char *order[] = {"weight", "half", "bf", "ids", "count", "bytes", "dbl", "empty"};
    ck_assert_int_eq(sf_st_count(f), 8);
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(sf_st_at(f, i)->name, order[i]);
    ck_assert_ptr_null(sf_st_at(f, 8));
    ck_assert_ptr_null(sf_st_find(f, "nope"));

    float w[6], h[4], bf[4], d[2];
    const float w_ref[6] = {1.5f, -2.25f, 0.0f, 3.125f, -0.001f, 100.0f};
    const float h_ref[4] = {1.0f, -0.5f, 65504.0f, 5.9604644775390625e-08f}; /* 2^-24 */
    const float bf_ref[4] = {1.0f, -2.0f, 0.15625f, 3.140625f}; /* bf16(3.14159) */
    const float d_ref[2] = {0.1f, -2.5f};
    expect_st("weight", sf_st_read_f32(f, "weight", 2, (int64_t[]){2, 3}, w), SF_OK, NULL);
    expect_st("half", sf_st_read_f32(f, "half", 1, (int64_t[]){4}, h), SF_OK, NULL);
    expect_st("bf", sf_st_read_f32(f, "bf", 2, (int64_t[]){2, 2}, bf), SF_OK, NULL);
    expect_st("dbl", sf_st_read_f32(f, "dbl", 1, (int64_t[]){2}, d), SF_OK, NULL);
    /* exact: every reference value is representable in its dtype */
    ck_assert_mem_eq(w, w_ref, sizeof w);
    ck_assert_mem_eq(h, h_ref, sizeof h);
    ck_assert_mem_eq(bf, bf_ref, sizeof bf);
    ck_assert_mem_eq(d, d_ref, sizeof d);

    const sf_st_info *t = sf_st_find(f, "ids");
    int32_t ids[3];
    ck_assert_int_eq(t->dtype, SF_I32);
    memcpy(ids, sf_st_data(f, t), sizeof ids);
    ck_assert_int_eq(ids[0], -1);
    ck_assert_int_eq(ids[1], 0);
    ck_assert_int_eq(ids[2], INT32_MAX);
    int64_t cnt;
    t = sf_st_find(f, "count");
    ck_assert_int_eq(t->dtype, SF_I64);
    memcpy(&cnt, sf_st_data(f, t), sizeof cnt);
    ck_assert_int_eq(cnt, INT64_C(-9007199254740993));
    t = sf_st_find(f, "bytes");
    ck_assert_int_eq(t->dtype, SF_U8);
    ck_assert_uint_eq(t->nbytes, 5);
    ck_assert_mem_eq(sf_st_data(f, t), "hi\0\xff!", 5);
    t = sf_st_find(f, "empty");
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 0);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_uint_eq(t->nbytes, 0);
    /* data is stored in reverse header order */
    ck_assert_uint_eq(sf_st_find(f, "dbl")->offset, 0);
    ck_assert_uint_eq(sf_st_find(f, "weight")->offset, 57);

    ck_assert_int_eq(sf_st_meta_count(f), 4);
    ck_assert_str_eq(sf_st_meta_key(f, 0), "format");
    ck_assert_str_eq(sf_st_meta_key(f, 3), "note");
    ck_assert_ptr_null(sf_st_meta_key(f, 4));
    ck_assert_str_eq(sf_st_meta(f, "format"), "seqfuse");
    ck_assert_str_eq(sf_st_meta(f, "version"), "1");
    ck_assert_str_eq(sf_st_meta(f, "config"), "{\"cell\":\"lstm\"}");
    ck_assert_str_eq(sf_st_meta(f, "note"), "\xc3\xbcn\xc3\xaf" "code \xe2\x9c\x93");
    ck_assert_ptr_null(sf_st_meta(f, "nope"));
    sf_st_close(f);
}
END_TEST

START_TEST(test_read_f32_errors)
{
    sf_st_file *f = NULL;
    const char *path = SF_TEST_DATA_DIR "/st_fixture.safetensors";
    ck_assert_int_eq(sf_st_open(path, 0, &f), SF_OK);
    float buf[8];
    expect_st("absent", sf_st_read_f32(f, "zz", 1, (int64_t[]){2}, buf), SF_ERR_FORMAT,
              "tensor 'zz' not found in " SF_TEST_DATA_DIR "/st_fixture.safetensors");
    expect_st("shape", sf_st_read_f32(f, "weight", 2, (int64_t[]){3, 2}, buf), SF_ERR_FORMAT,
              "tensor 'weight' has shape [2, 3], expected [3, 2]");
    expect_st("ndim", sf_st_read_f32(f, "weight", 1, (int64_t[]){6}, buf), SF_ERR_FORMAT,
              "has shape [2, 3], expected [6]");
    expect_st("int dtype", sf_st_read_f32(f, "ids", 1, (int64_t[]){3}, buf), SF_ERR_FORMAT,
              "tensor 'ids' has dtype I32, expected a float dtype");
    expect_st("null dst", sf_st_read_f32(f, "weight", 2, (int64_t[]){2, 3}, NULL),
              SF_ERR_INVALID_ARG, NULL);
    sf_st_close(f);
}
END_TEST

/* ---------------------------------------------------------------- round trip */

/* Every dtype, f32 conversion on write and read, metadata, 0-size and 0-dim. */
static sf_st_writer *rt_writer(void)
{
    static const float src[6] = {1.0f, -2.5f, 0.333333f, 65504.0f, 1e-8f, -3.0e38f};
    static const double f64[3] = {0.1, -1e300, 4.0};
    static const int32_t i32[2] = {INT32_MIN, 7};
    static const int64_t i64[2] = {INT64_MAX, -5};
    static const uint8_t u8[5] = {0, 1, 127, 128, 255};
    sf_st_writer *w = NULL;
    ck_assert_int_eq(sf_st_writer_create(&w), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "f32", SF_F32, 2, (int64_t[]){2, 3}, src), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "f16", SF_F16, 2, (int64_t[]){3, 2}, src), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "bf16", SF_BF16, 1, (int64_t[]){6}, src), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "f64w", SF_F64, 1, (int64_t[]){6}, src), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, "f64", SF_F64, 1, (int64_t[]){3}, f64), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, "i32", SF_I32, 1, (int64_t[]){2}, i32), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, "i64", SF_I64, 2, (int64_t[]){1, 2}, i64), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, "u8", SF_U8, 1, (int64_t[]){5}, u8), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, "zero", SF_F32, 2, (int64_t[]){0, 4}, NULL), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "scalar", SF_F32, 0, NULL, src + 1), SF_OK);
    ck_assert_int_eq(sf_st_writer_meta(w, "format", "seqfuse"), SF_OK);
    ck_assert_int_eq(sf_st_writer_meta(w, "version", "7"), SF_OK);
    ck_assert_int_eq(sf_st_writer_meta(w, "config", "{\"cell\": \"gru\", \"q\": \"\\\"\"}"),
                     SF_OK);
    ck_assert_int_eq(sf_st_writer_meta(w, "note", "tab\there \"quoted\" \xc3\xa9"), SF_OK);
    ck_assert_int_eq(sf_st_writer_meta(w, "version", "1"), SF_OK); /* replaces */
    return w;
}

static void rt_check_values(const sf_st_file *f)
{
    static const float src[6] = {1.0f, -2.5f, 0.333333f, 65504.0f, 1e-8f, -3.0e38f};
    float got[6], want[6];
    ck_assert_int_eq(sf_st_read_f32(f, "f32", 2, (int64_t[]){2, 3}, got), SF_OK);
    ck_assert_mem_eq(got, src, sizeof got);
    ck_assert_int_eq(sf_st_read_f32(f, "f64w", 1, (int64_t[]){6}, got), SF_OK);
    ck_assert_mem_eq(got, src, sizeof got);
    /* half types: exactly what one rounding step gives (the converters are
     * tested in test_core); 1e-8 flushes to 0 in f16, -3e38 overflows to -inf */
    ck_assert_int_eq(sf_st_read_f32(f, "f16", 2, (int64_t[]){3, 2}, got), SF_OK);
    for (int i = 0; i < 6; i++)
        want[i] = sf_f16_to_f32(sf_f32_to_f16(src[i]));
    ck_assert_mem_eq(got, want, sizeof got);
    ck_assert(got[4] == 0.0f && isinf(got[5]) && got[5] < 0);
    ck_assert_float_eq_tol(got[2], 0.333333f, 2e-4f); /* f16 step near 1/3: 2^-12 */
    ck_assert_int_eq(sf_st_read_f32(f, "bf16", 1, (int64_t[]){6}, got), SF_OK);
    for (int i = 0; i < 6; i++)
        want[i] = sf_bf16_to_f32(sf_f32_to_bf16(src[i]));
    ck_assert_mem_eq(got, want, sizeof got);
    ck_assert_float_eq_tol(got[2], 0.333333f, 2e-3f); /* bf16 step near 1/3: 2^-9 */
    ck_assert_int_eq(sf_st_read_f32(f, "f64", 1, (int64_t[]){3}, got), SF_OK);
    ck_assert(got[0] == 0.1f && isinf(got[1]) && got[2] == 4.0f);
    ck_assert_int_eq(sf_st_read_f32(f, "scalar", 0, NULL, got), SF_OK);
    ck_assert(got[0] == -2.5f);
    int32_t i32[2];
    int64_t i64[2];
    memcpy(i32, sf_st_data(f, sf_st_find(f, "i32")), sizeof i32);
    memcpy(i64, sf_st_data(f, sf_st_find(f, "i64")), sizeof i64);
    ck_assert(i32[0] == INT32_MIN && i32[1] == 7 && i64[0] == INT64_MAX && i64[1] == -5);
    ck_assert_mem_eq(sf_st_data(f, sf_st_find(f, "u8")), "\x00\x01\x7f\x80\xff", 5);
}

START_TEST(test_round_trip)
{
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    sf_st_writer *w = rt_writer();
    expect_st("save", sf_st_writer_save(w, path), SF_OK, NULL);
    sf_st_writer_free(w);
    sf_st_file *f = NULL;
    expect_st("open", sf_st_open(path, SF_ST_SEQFUSE, &f), SF_OK, NULL);
    const char *names[] = {"f32", "f16", "bf16", "f64w", "f64", "i32", "i64", "u8", "zero",
                           "scalar"};
    const sf_dtype dts[] = {SF_F32, SF_F16, SF_BF16, SF_F64, SF_F64, SF_I32, SF_I64, SF_U8,
                            SF_F32, SF_F32};
    ck_assert_int_eq(sf_st_count(f), 10);
    uint64_t off = 0;
    for (int i = 0; i < 10; i++) { /* insertion order, contiguous data */
        const sf_st_info *t = sf_st_at(f, i);
        ck_assert_str_eq(t->name, names[i]);
        ck_assert_int_eq(t->dtype, dts[i]);
        ck_assert_uint_eq(t->offset, off);
        ck_assert_ptr_eq(sf_st_find(f, names[i]), t);
        off += t->nbytes;
    }
    ck_assert_int_eq(sf_st_find(f, "scalar")->ndim, 0);
    ck_assert_uint_eq(sf_st_find(f, "zero")->nbytes, 0);
    rt_check_values(f);
    ck_assert_int_eq(sf_st_meta_count(f), 4);
    ck_assert_str_eq(sf_st_meta_key(f, 1), "version");
    ck_assert_str_eq(sf_st_meta(f, "version"), "1");
    ck_assert_str_eq(sf_st_meta(f, "config"), "{\"cell\": \"gru\", \"q\": \"\\\"\"}");
    ck_assert_str_eq(sf_st_meta(f, "note"), "tab\there \"quoted\" \xc3\xa9");
    sf_st_close(f);

    /* layout: data 8-aligned, header compact JSON padded with spaces */
    size_t n;
    uint8_t *b = (uint8_t *)sf_test_read_file(path, &n);
    uint64_t hl = le64(b);
    ck_assert_uint_eq((8 + hl) % 8, 0);
    ck_assert_uint_eq(n, 8 + hl + off);
    ck_assert_int_eq(b[8], '{');
    ck_assert_ptr_null(memchr(b + 8, '\n', (size_t)hl));
    ck_assert_ptr_nonnull(strstr((char *)b + 8, "\"shape\":[2,3],\"data_offsets\":[0,24]"));
    free(b);
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_writer_errors)
{
    sf_st_writer *w = NULL;
    float x[4] = {1, 2, 3, 4};
    const int64_t s4[1] = {4};
    ck_assert_int_eq(sf_st_writer_create(&w), SF_OK);
    ck_assert_int_eq(sf_st_writer_add_f32(w, "x", SF_F32, 1, s4, x), SF_OK);
    expect_st("duplicate", sf_st_writer_add_f32(w, "x", SF_F16, 1, s4, x), SF_ERR_INVALID_ARG,
              "duplicate tensor name 'x'");
    expect_st("duplicate raw", sf_st_writer_add(w, "x", SF_U8, 1, s4, x), SF_ERR_INVALID_ARG,
              "duplicate tensor name 'x'");
    expect_st("reserved", sf_st_writer_add(w, "__metadata__", SF_U8, 1, s4, x),
              SF_ERR_INVALID_ARG, "reserved");
    expect_st("null name", sf_st_writer_add(w, NULL, SF_U8, 1, s4, x), SF_ERR_INVALID_ARG,
              "tensor name is NULL");
    expect_st("bad utf8 name", sf_st_writer_add(w, "a\xff", SF_U8, 1, s4, x),
              SF_ERR_INVALID_ARG, "not valid UTF-8");
    expect_st("negative dim", sf_st_writer_add(w, "n", SF_U8, 1, (int64_t[]){-1}, x),
              SF_ERR_INVALID_ARG, "shape [-1] has a negative dimension");
    expect_st("overflow", sf_st_writer_add(w, "o", SF_F64, 2,
              (int64_t[]){INT64_C(1) << 40, INT64_C(1) << 40}, x), SF_ERR_INVALID_ARG,
              "overflows");
    expect_st("too many dims", sf_st_writer_add(w, "d", SF_U8, 9, s4, x), SF_ERR_INVALID_ARG,
              "ndim 9 outside 0..8");
    expect_st("bad dtype", sf_st_writer_add(w, "t", (sf_dtype)42, 1, s4, x),
              SF_ERR_INVALID_ARG, "dtype 42");
    expect_st("null data", sf_st_writer_add(w, "z", SF_U8, 1, s4, NULL), SF_ERR_INVALID_ARG,
              "tensor 'z': data is NULL");
    expect_st("f32 as int", sf_st_writer_add_f32(w, "i", SF_I32, 1, s4, x),
              SF_ERR_INVALID_ARG, "cannot store f32 data as I32");
    expect_st("meta utf8", sf_st_writer_meta(w, "k", "\xc3"), SF_ERR_INVALID_ARG,
              "metadata value");
    expect_st("meta null", sf_st_writer_meta(w, NULL, "v"), SF_ERR_INVALID_ARG,
              "metadata key is NULL");
    expect_st("save null", sf_st_writer_save(w, NULL), SF_ERR_INVALID_ARG, NULL);
    /* failed adds left nothing behind: the file holds just x */
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    ck_assert_int_eq(sf_st_writer_save(w, path), SF_OK);
    sf_st_writer_free(w);
    sf_st_writer_free(NULL);
    sf_st_file *f = NULL;
    ck_assert_int_eq(sf_st_open(path, 0, &f), SF_OK);
    ck_assert_int_eq(sf_st_count(f), 1);
    ck_assert_int_eq(sf_st_meta_count(f), 0);
    sf_st_close(f);
    sf_test_rmtree(dir);
}
END_TEST

/* ---------------------------------------------------------------- atomic save */

/* A writer holding one U8 tensor `name` of n bytes, all equal to v. */
static sf_st_writer *one_tensor(const char *name, int64_t n, uint8_t v)
{
    uint8_t *d = malloc((size_t)n);
    memset(d, v, (size_t)n);
    sf_st_writer *w = NULL;
    ck_assert_int_eq(sf_st_writer_create(&w), SF_OK);
    ck_assert_int_eq(sf_st_writer_add(w, name, SF_U8, 1, &n, d), SF_OK);
    free(d);
    return w;
}

static void save_one(const char *path, const char *name, int64_t n, uint8_t v)
{
    sf_st_writer *w = one_tensor(name, n, v);
    expect_st(path, sf_st_writer_save(w, path), SF_OK, NULL);
    sf_st_writer_free(w);
}

START_TEST(test_atomic_replace)
{
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    save_one(path, "old", 16, 1);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644); /* new files: 0644 */
    ck_assert_int_eq(chmod(path, 0600), 0);
    save_one(path, "new", 32, 2);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600); /* replacing keeps the mode */
    sf_st_file *f = NULL;
    ck_assert_int_eq(sf_st_open(path, 0, &f), SF_OK);
    ck_assert_int_eq(sf_st_count(f), 1);
    ck_assert_str_eq(sf_st_at(f, 0)->name, "new");
    sf_st_close(f);
    ck_assert(!has_temp_files(dir));
    /* a relative path (folder ".") */
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    save_one("rel.safetensors", "r", 4, 3);
    ck_assert_int_eq(chdir(cwd), 0);
    snprintf(path, sizeof path, "%s/rel.safetensors", dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_atomic_failures)
{
    char dir[256], path[512], sub[600];
    sf_test_tmpdir(dir, sizeof dir);
    /* folder does not exist */
    snprintf(path, sizeof path, "%s/nope/m.safetensors", dir);
    sf_st_writer *w = one_tensor("t", 64, 5);
    expect_st("no folder", sf_st_writer_save(w, path), SF_ERR_IO, path);
    ck_assert_msg(strstr(sf_last_error(), "No such file or directory") != NULL, "%s",
                  sf_last_error());
    /* target is a folder: rename fails; the folder and its file stay */
    snprintf(path, sizeof path, "%s/dir.safetensors", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(sub, sizeof sub, "%s/keep", path);
    sf_test_write_file(sub, "k", 1);
    expect_st("over folder", sf_st_writer_save(w, path), SF_ERR_IO, "cannot rename");
    ck_assert_msg(strstr(sf_last_error(), path) != NULL, "%s", sf_last_error());
    ck_assert_int_eq(access(sub, R_OK), 0);
    ck_assert(!has_temp_files(dir));
    sf_st_writer_free(w);
    sf_test_rmtree(dir);
}
END_TEST

/* A write that fails part-way (file size limit, which binds root too) leaves
 * the old file byte for byte and no temp file. */
START_TEST(test_atomic_write_failure)
{
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    save_one(path, "old", 16, 1);
    size_t n0;
    char *before = sf_test_read_file(path, &n0);
    sf_st_writer *w = one_tensor("big", 100000, 9);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sf_status st = sf_st_writer_save(w, path);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    expect_st("size limit", st, SF_ERR_IO, "cannot write");
    ck_assert_msg(strstr(sf_last_error(), path) != NULL &&
                  strstr(sf_last_error(), strerror(EFBIG)) != NULL, "%s", sf_last_error());
    size_t n1;
    char *after = sf_test_read_file(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(before, after, n0);
    ck_assert(!has_temp_files(dir));
    free(before);
    free(after);
    sf_st_writer_free(w);
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_fixture);
    tcase_add_test(tc, test_read_f32_errors);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_corrupt_table);
    tcase_add_test(tc, test_truncate_every_length);
    tcase_add_test(tc, test_flip_every_header_byte);
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_writer_errors);
    tcase_add_test(tc, test_atomic_replace);
    tcase_add_test(tc, test_atomic_failures);
    tcase_add_test(tc, test_atomic_write_failure);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
