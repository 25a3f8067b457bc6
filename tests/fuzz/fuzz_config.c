/* fuzz_config.c: libFuzzer target for configuration text. The first byte
 * picks the entry point: sf_opt_apply_json over both option tables,
 * sf_model_config_from_json (a model file's config; what it accepts must
 * survive to_json -> from_json unchanged and build a layout), or
 * sf_opt_load_file (JSON or flat YAML from a file). */
#include "fuzz_util.h" /* first: it sets _GNU_SOURCE */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/params.h"
#include "train/train_opts.h"

static void sf_fuzz_model_json(const char *text)
{
    sf_model_config c, back;
    if (sf_model_config_from_json(text, "fuzz", &c) != SF_OK)
        return;
    char *json = NULL;
    if (sf_model_config_to_json(&c, &json) != SF_OK ||
        sf_model_config_from_json(json, "round trip", &back) != SF_OK ||
        memcmp(&c, &back, sizeof c) != 0)
        abort(); /* an accepted config must round-trip */
    free(json);
    sf_param_layout l;
    if (sf_param_layout_build(&c, &l) != SF_OK)
        abort(); /* a validated config always has a layout */
    sf_param_layout_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n == 0)
        return 0;
    char *text = malloc(n);
    memcpy(text, data + 1, n - 1);
    text[n - 1] = '\0';
    sf_model_config cfg;
    sf_train_opts opts;
    sf_model_config_default(&cfg);
    sf_train_opts_default(&opts);
    sf_status st = SF_OK;
    switch (data[0] % 3) {
    case 0:
        st = sf_opt_apply_json(sf_model_config_spec, &cfg, sf_train_opts_spec, &opts, text,
                               "fuzz");
        break;
    case 1: sf_fuzz_model_json(text); break;
    default: {
        char path[64];
        int fd = sf_fuzz_memfile(data + 1, n - 1, path, sizeof path);
        st = sf_opt_load_file(path, sf_model_config_spec, &cfg, sf_train_opts_spec, &opts);
        close(fd);
    }
    }
    if (st != SF_OK && !*sf_last_error())
        abort(); /* every failure says why */
    if (st == SF_OK)
        (void)sf_model_config_validate(&cfg, "fuzz");
    free(text);
    return 0;
}
