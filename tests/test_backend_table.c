/* test_backend_table.c: sf_backend_check_complete: the CPU backend's table is
 * complete, and a table missing any op is refused with SF_ERR_INTERNAL naming
 * that op and the backend. (The CUDA table is checked in test_cuda_ops.) */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "sf_test.h"

/* Clears op i of be (first, new and last ops of the table); returns its name. */
static const char *clear_op(sf_backend *be, int i)
{
    switch (i) {
    case 0: be->alloc = NULL; return "alloc";
    case 1: be->sgemm_strided = NULL; return "sgemm_strided";
    case 2: be->mul = NULL; return "mul";
    case 3: be->copy2d = NULL; return "copy2d";
    case 4: be->add_rowvec = NULL; return "add_rowvec";
    case 5: be->colsum_acc = NULL; return "colsum_acc";
    case 6: be->sumsq = NULL; return "sumsq";
    case 7: be->destroy = NULL; return "destroy";
    }
    return NULL;
}
#define N_CLEAR_CASES 8

START_TEST(test_cpu_table_complete)
{
    sf_backend *be = NULL;
    ck_assert_int_eq(sf_cpu_backend_create(&be), SF_OK);
    ck_assert_msg(sf_backend_check_complete(be) == SF_OK, "%s", sf_last_error());
    sf_backend_close(be);
}
END_TEST

START_TEST(test_missing_op_refused)
{
    sf_backend *be = NULL;
    ck_assert_int_eq(sf_cpu_backend_create(&be), SF_OK);
    sf_backend copy = *be;
    const char *name = clear_op(&copy, _i);
    ck_assert_ptr_nonnull(name);
    ck_assert_int_eq(sf_backend_check_complete(&copy), SF_ERR_INTERNAL);
    char want[64];
    snprintf(want, sizeof want, "lacks op %s ", name);
    ck_assert_msg(strstr(sf_last_error(), want) && strstr(sf_last_error(), "cpu"),
                  "case %s: message \"%s\" does not name the op and backend", name,
                  sf_last_error());
    sf_backend_close(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backend_table");
    TCase *tc = tcase_create("complete");
    tcase_add_test(tc, test_cpu_table_complete);
    tcase_add_loop_test(tc, test_missing_op_refused, 0, N_CLEAR_CASES);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
