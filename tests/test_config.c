/* test_config.c: option tables, config files (JSON and flat YAML), the model
 * config's JSON form and checks, and the built-in presets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "sf_test.h"
#include "train/train_opts.h"

START_TEST(test_defaults_and_presets)
{
    sf_model_config c;
    sf_model_config_default(&c);
    ck_assert_int_eq(sf_model_config_validate(&c, "defaults"), SF_OK);
    const char *names[] = {"tiny", "small", "base"};
    for (int i = 0; i < 3; i++) {
        const char *text = sf_preset_text(names[i]);
        ck_assert_msg(text != NULL, "preset %s missing", names[i]);
        char dir[4096], path[4200];
        sf_test_tmpdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s.yaml", dir, names[i]);
        sf_test_write_file(path, text, strlen(text));
        sf_train_opts t;
        sf_model_config_default(&c);
        sf_train_opts_default(&t);
        sf_status st = sf_opt_load_file(path, sf_model_config_spec, &c, sf_train_opts_spec, &t);
        ck_assert_msg(st == SF_OK, "preset %s: %s", names[i], sf_last_error());
        ck_assert_int_eq(sf_model_config_validate(&c, names[i]), SF_OK);
        sf_test_rmtree(dir);
    }
    ck_assert_ptr_null(sf_preset_text("huge"));
    ck_assert_ptr_nonnull(strstr(sf_preset_names(), "base"));
    /* base is what the issue says: 2-layer bi-LSTM, E 512, H 512, general attention */
    sf_train_opts t;
    sf_model_config_default(&c);
    sf_train_opts_default(&t);
    char dir[4096], path[4200];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/b.yaml", dir);
    sf_test_write_file(path, sf_preset_text("base"), strlen(sf_preset_text("base")));
    ck_assert_int_eq(sf_opt_load_file(path, sf_model_config_spec, &c, sf_train_opts_spec, &t),
                     SF_OK);
    ck_assert_int_eq(c.cell, 2);
    ck_assert_int_eq(c.attention, 1);
    ck_assert_int_eq(c.enc_layers, 2);
    ck_assert_int_eq(c.emb_size, 512);
    ck_assert_int_eq(c.hidden_size, 512);
    ck_assert(c.bidirectional);
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_json_round_trip)
{
    sf_model_config a, b;
    sf_model_config_default(&a);
    a.cell = 1;
    a.attention = 2;
    a.hidden_size = 10;
    a.dropout = 0.25f;
    a.bridge = 1;
    a.enc_layers = 3;
    char *json = NULL;
    ck_assert_int_eq(sf_model_config_to_json(&a, &json), SF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"cell\":\"gru\""));
    ck_assert_ptr_nonnull(strstr(json, "\"attention\":\"mlp\""));
    ck_assert_int_eq(sf_model_config_from_json(json, "m.safetensors", &b), SF_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    free(json);
}
END_TEST

static const struct {
    const char *name, *json, *needle;
    sf_status st;
} bad_json[] = {
    {"not json", "{cell: lstm", "not a JSON object", SF_ERR_FORMAT},
    {"array", "[1,2]", "not a JSON object", SF_ERR_FORMAT},
    {"unknown key", "{\"cell\":\"lstm\",\"colour\":3}", "unknown key 'colour'", SF_ERR_INVALID_ARG},
    {"bad cell", "{\"cell\":\"transformer\"}", "valid: rnn, gru, lstm", SF_ERR_INVALID_ARG},
    {"negative size", "{\"hidden_size\":-4}", "out of range", SF_ERR_INVALID_ARG},
    {"zero size", "{\"emb_size\":0}", "out of range", SF_ERR_INVALID_ARG},
    {"fraction", "{\"enc_layers\":1.5}", "whole number", SF_ERR_INVALID_ARG},
    {"bool", "{\"bidirectional\":\"maybe\"}", "true or false", SF_ERR_INVALID_ARG},
    {"nested", "{\"cell\":{\"a\":1}}", "must be a number", SF_ERR_INVALID_ARG},
    {"missing key", "{\"cell\":\"lstm\"}", "'attention' is missing", SF_ERR_FORMAT},
};

START_TEST(test_bad_json)
{
    sf_model_config c;
    sf_status st = sf_model_config_from_json(bad_json[_i].json, "x.safetensors", &c);
    ck_assert_msg(st == bad_json[_i].st, "case '%s': status %s, message %s", bad_json[_i].name,
                  sf_status_str(st), sf_last_error());
    ck_assert_msg(strstr(sf_last_error(), bad_json[_i].needle) != NULL,
                  "case '%s': message '%s' lacks '%s'", bad_json[_i].name, sf_last_error(),
                  bad_json[_i].needle);
    ck_assert_msg(strstr(sf_last_error(), "x.safetensors") != NULL, "case '%s': no file name",
                  bad_json[_i].name);
}
END_TEST

START_TEST(test_cross_checks)
{
    sf_model_config c;
    sf_model_config_default(&c);
    c.hidden_size = 7;
    ck_assert_int_eq(sf_model_config_validate(&c, "cfg"), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "even"));
    sf_model_config_default(&c);
    c.tie_output = 1;
    ck_assert_int_eq(sf_model_config_validate(&c, "cfg"), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "tie_output"));
    sf_model_config_default(&c);
    c.dec_layers = 1;
    ck_assert_int_eq(sf_model_config_validate(&c, "cfg"), SF_ERR_INVALID_ARG);
    c.bridge = 1;
    ck_assert_int_eq(sf_model_config_validate(&c, "cfg"), SF_OK);
    c.cell = 7;
    ck_assert_int_eq(sf_model_config_validate(&c, "cfg"), SF_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_yaml_and_cli)
{
    char dir[4096], path[4200];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    const char *yaml = "# my model\n---\ncell: gru   # comment\nattention: \"mlp\"\n\n"
                       "hidden_size: 128\nlr: 0.0005\nmax_tokens: 3000\r\nspm_type: 'bpe'\n";
    sf_test_write_file(path, yaml, strlen(yaml));
    sf_model_config c;
    sf_train_opts t;
    sf_model_config_default(&c);
    sf_train_opts_default(&t);
    ck_assert_int_eq(sf_opt_load_file(path, sf_model_config_spec, &c, sf_train_opts_spec, &t),
                     SF_OK);
    ck_assert_int_eq(c.cell, 1);
    ck_assert_int_eq(c.attention, 2);
    ck_assert_int_eq(c.hidden_size, 128);
    ck_assert_float_eq_tol(t.lr, 0.0005f, 1e-9f);
    ck_assert_int_eq(t.max_tokens, 3000);
    ck_assert_int_eq(t.spm_type, 1);

    const char *bad = "cell: lstm\nhidden_size 12\n";
    sf_test_write_file(path, bad, strlen(bad));
    ck_assert_int_eq(sf_opt_load_file(path, sf_model_config_spec, &c, sf_train_opts_spec, &t),
                     SF_ERR_FORMAT);
    ck_assert_msg(strstr(sf_last_error(), "c.yaml:2") != NULL, "%s", sf_last_error());
    const char *unk = "cell: lstm\nlearning_rate: 1\n";
    sf_test_write_file(path, unk, strlen(unk));
    ck_assert_int_eq(sf_opt_load_file(path, sf_model_config_spec, &c, sf_train_opts_spec, &t),
                     SF_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sf_last_error(), "'learning_rate'") != NULL, "%s", sf_last_error());
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    ck_assert_int_eq(sf_opt_load_file(path, sf_model_config_spec, &c, NULL, NULL), SF_ERR_IO);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "missing.yaml"));

    /* command-line form: dashes or underscores */
    ck_assert_int_eq(sf_opt_set(sf_model_config_spec, &c, "hidden-size", "256", "--hidden-size"),
                     SF_OK);
    ck_assert_int_eq(c.hidden_size, 256);
    ck_assert_int_eq(sf_opt_set(sf_train_opts_spec, &t, "max-steps", "12x", "--max-steps"),
                     SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "not a number"));
    char buf[64];
    sf_opt_format(sf_opt_find(sf_model_config_spec, "cell"), &c, buf, sizeof buf);
    ck_assert_str_eq(buf, "lstm"); /* set by the later files before they failed */
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("model_config");
    tcase_add_test(tc, test_defaults_and_presets);
    tcase_add_test(tc, test_json_round_trip);
    tcase_add_loop_test(tc, test_bad_json, 0, (int)(sizeof bad_json / sizeof *bad_json));
    tcase_add_test(tc, test_cross_checks);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_yaml_and_cli);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
