/* test_headers.c: every public header compiles on its own in a plain C11 file
 * (this file includes each one first in its own translation unit: see the
 * compile commands in the test), and together through seqfuse.h. */
#include <seqfuse/seqfuse.h>
#include <seqfuse/modelfile.h>
#include <seqfuse/status.h>
#include <seqfuse/tokenizer.h>
#include <seqfuse/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_test.h"

/* Compile each public header alone, as the first include of a C file, with
 * the strictest flags a user might have. */
START_TEST(test_each_header_alone)
{
    static const char *const headers[] = {"seqfuse.h", "modelfile.h", "status.h",
                                          "tokenizer.h", "types.h"};
    char dir[4096], path[4200], cmd[9000];
    sf_test_tmpdir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        snprintf(path, sizeof path, "%s/use_%zu.c", dir, i);
        char src[512];
        snprintf(src, sizeof src, "#include <seqfuse/%s>\nint sf_test_use_%zu(void);\n"
                 "int sf_test_use_%zu(void) { return 0; }\n", headers[i], i, i);
        sf_test_write_file(path, src, strlen(src));
        snprintf(cmd, sizeof cmd, "cc -std=c11 -pedantic -Wall -Wextra -Werror -c -I%s/include "
                 "%s -o %s/use_%zu.o", SF_SOURCE_DIR, path, dir, i);
        char *out = NULL;
        int rc = sf_test_sh(cmd, &out);
        ck_assert_msg(rc == 0, "seqfuse/%s does not compile alone:\n%s", headers[i], out);
        free(out);
    }
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_api_links)
{
    ck_assert_str_eq(sf_version(), SEQFUSE_VERSION);
    ck_assert_str_eq(sf_status_str(SF_OK), "ok");
    sf_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("headers");
    TCase *tc = tcase_create("public");
    tcase_add_test(tc, test_each_header_alone);
    tcase_add_test(tc, test_api_links);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
