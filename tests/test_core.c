/* test_core.c: status messages, arena, tensor sizes, half-precision
 * conversion and the RNG. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "sf_test.h"

START_TEST(test_status_names)
{
    for (int i = 0; i < SF_STATUS_COUNT; i++) {
        const char *s = sf_status_str((sf_status)i);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strlen(s) > 0, "status %d has no name", i);
    }
    ck_assert_str_eq(sf_status_str((sf_status)999), "unknown status");
    ck_assert_str_eq(sf_status_str(SF_ERR_FORMAT), "format error");
}
END_TEST

static sf_status failing(int got)
{
    return SF_FAIL(SF_ERR_FORMAT, "got %d, expected 3", got);
}

START_TEST(test_status_message)
{
    sf_clear_error();
    ck_assert_str_eq(sf_last_error(), "");
    ck_assert_int_eq(failing(7), SF_ERR_FORMAT);
    ck_assert_str_eq(sf_last_error(), "failing: got 7, expected 3");
    sf_error_prefix(SF_ERR_FORMAT, "reading %s", "m.safetensors");
    ck_assert_str_eq(sf_last_error(), "reading m.safetensors: failing: got 7, expected 3");
}
END_TEST

START_TEST(test_arena)
{
    sf_arena a;
    ck_assert_int_eq(sf_arena_init(&a, 1000, "test"), SF_OK);
    void *p1, *p2, *p3;
    ck_assert_int_eq(sf_arena_alloc(&a, 10, &p1), SF_OK);
    ck_assert_int_eq(sf_arena_alloc(&a, 100, &p2), SF_OK);
    ck_assert_uint_eq((uintptr_t)p1 % SF_ARENA_ALIGN, 0);
    ck_assert_uint_eq((uintptr_t)p2 % SF_ARENA_ALIGN, 0);
    ck_assert_ptr_ne(p1, p2);
    size_t mark = sf_arena_mark(&a);
    ck_assert_int_eq(sf_arena_alloc(&a, 64, &p3), SF_OK);
    sf_arena_rewind(&a, mark);
    void *p4;
    ck_assert_int_eq(sf_arena_alloc(&a, 64, &p4), SF_OK);
    ck_assert_ptr_eq(p3, p4);
    /* exhausting the arena is an error naming it, not a crash */
    void *big;
    ck_assert_int_eq(sf_arena_alloc(&a, 5000, &big), SF_ERR_OOM);
    ck_assert_ptr_null(big);
    ck_assert_msg(strstr(sf_last_error(), "test") != NULL, "message: %s", sf_last_error());
    ck_assert_int_eq(sf_arena_alloc(&a, SIZE_MAX - 8, &big), SF_ERR_OOM);
    sf_arena_free(&a);
    sf_arena_free(&a); /* twice is fine */
    sf_arena_free(NULL);
}
END_TEST

START_TEST(test_tensor_sizes)
{
    sf_tensor t = {.dtype = SF_F32, .ndim = 3, .shape = {2, 3, 4}};
    size_t nb;
    ck_assert_int_eq(sf_tensor_numel(&t), 24);
    ck_assert_int_eq(sf_tensor_nbytes(&t, &nb), SF_OK);
    ck_assert_uint_eq(nb, 96);
    char buf[64];
    ck_assert_str_eq(sf_tensor_shape_str(&t, buf, sizeof buf), "[2, 3, 4]");
    sf_tensor big = {.dtype = SF_F64, .ndim = 3, .shape = {INT64_C(1) << 30, INT64_C(1) << 30, 16}};
    ck_assert_int_eq(sf_tensor_numel(&big), -1);
    ck_assert_int_eq(sf_tensor_nbytes(&big, &nb), SF_ERR_FORMAT);
    sf_tensor neg = {.dtype = SF_F32, .ndim = 1, .shape = {-1}};
    ck_assert_int_eq(sf_tensor_numel(&neg), -1);
    sf_tensor scalar = {.dtype = SF_I64, .ndim = 0};
    ck_assert_int_eq(sf_tensor_numel(&scalar), 1);

    sf_dtype dt;
    ck_assert_int_eq(sf_dtype_parse("BF16", &dt), SF_OK);
    ck_assert_int_eq(dt, SF_BF16);
    ck_assert_int_eq(sf_dtype_parse("F8_E4M3", &dt), SF_ERR_FORMAT);
    ck_assert_uint_eq(sf_dtype_size(SF_F16), 2);
    ck_assert_uint_eq(sf_dtype_size(SF_U8), 1);

    sf_arena a;
    ck_assert_int_eq(sf_arena_init(&a, 4096, "tensors"), SF_OK);
    sf_tensor x;
    ck_assert_int_eq(sf_tensor_f32(&a, &x, 2, (int64_t)5, (int64_t)7), SF_OK);
    ck_assert_int_eq(x.ndim, 2);
    ck_assert_int_eq(x.shape[1], 7);
    ck_assert_float_eq(((float *)x.data)[34], 0.0f);
    sf_arena_free(&a);
}
END_TEST

START_TEST(test_half_conversion)
{
    /* exact values round-trip; special values keep their class */
    const float exact[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f,
                           5.960464477539063e-08f, 0.333251953125f};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        ck_assert_float_eq(sf_f16_to_f32(sf_f32_to_f16(exact[i])), exact[i]);
    ck_assert(isinf(sf_f16_to_f32(sf_f32_to_f16(1e6f))));
    ck_assert(isnan(sf_f16_to_f32(sf_f32_to_f16(NAN))));
    ck_assert_float_eq(sf_f16_to_f32(sf_f32_to_f16(1e-9f)), 0.0f);
    /* every finite f16 bit pattern survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7c00u) == 0x7c00u)
            continue;
        ck_assert_uint_eq(sf_f32_to_f16(sf_f16_to_f32((uint16_t)h)), h);
    }
    /* round to nearest even at the halfway point between 1 and 1+2^-10 */
    ck_assert_float_eq(sf_f16_to_f32(sf_f32_to_f16(1.0f + 0x1p-11f)), 1.0f);
    ck_assert_float_eq(sf_f16_to_f32(sf_f32_to_f16(1.0f + 3 * 0x1p-11f)), 1.0f + 0x1p-9f);
    /* bf16 */
    ck_assert_float_eq(sf_bf16_to_f32(sf_f32_to_bf16(1.5f)), 1.5f);
    ck_assert_float_eq(sf_bf16_to_f32(sf_f32_to_bf16(1.0f + 0x1p-8f)), 1.0f);
    ck_assert(isnan(sf_bf16_to_f32(sf_f32_to_bf16(NAN))));
}
END_TEST

START_TEST(test_rng)
{
    sf_rng a, b;
    sf_rng_seed(&a, 42);
    sf_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(sf_rng_next(&a), sf_rng_next(&b));
    sf_rng_seed(&b, 43);
    ck_assert_uint_ne(sf_rng_next(&a), sf_rng_next(&b));

    /* saving the state and restoring it replays the same stream */
    sf_rng saved = a;
    uint64_t x1 = sf_rng_next(&a);
    a = saved;
    ck_assert_uint_eq(sf_rng_next(&a), x1);

    double sum = 0, sumsq = 0, nsum = 0, nsq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = sf_rng_uniform(&a);
        ck_assert(u >= 0.0f && u < 1.0f);
        sum += u;
        sumsq += (double)u * u;
        float z = sf_rng_normal(&a);
        nsum += z;
        nsq += (double)z * z;
    }
    ck_assert_double_eq_tol(sum / n, 0.5, 0.01);
    ck_assert_double_eq_tol(sumsq / n - (sum / n) * (sum / n), 1.0 / 12, 0.01);
    ck_assert_double_eq_tol(nsum / n, 0.0, 0.02);
    ck_assert_double_eq_tol(nsq / n, 1.0, 0.02);

    int counts[7] = {0};
    for (int i = 0; i < 70000; i++)
        counts[sf_rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++)
        ck_assert_msg(counts[i] > 9000 && counts[i] < 11000, "bucket %d: %d", i, counts[i]);

    int32_t perm[50];
    for (int i = 0; i < 50; i++)
        perm[i] = i;
    sf_rng_shuffle_i32(&a, perm, 50);
    int seen[50] = {0}, moved = 0;
    for (int i = 0; i < 50; i++) {
        seen[perm[i]]++;
        moved += perm[i] != i;
    }
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 25);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_status_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("arena");
    tcase_add_test(tc, test_arena);
    suite_add_tcase(s, tc);
    tc = tcase_create("tensor");
    tcase_add_test(tc, test_tensor_sizes);
    tcase_add_test(tc, test_half_conversion);
    suite_add_tcase(s, tc);
    tc = tcase_create("rng");
    tcase_add_test(tc, test_rng);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
