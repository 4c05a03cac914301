/* Output rails on the answer JSON (docs/answer.md). Dose limits come from
 * safety/data/doses.json: paracetamol 1 g a dose, 4 g a day (NHS; FDA
 * 4,000 mg/day); ibuprofen OTC 400 mg a dose, 1,200 mg a day (NHS, FDA OTC
 * label). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safety/safety.h"

static safety_t *g_s;

static int setup(void **state)
{
    (void)state;
    muse_error_t err = {0};
    return safety_open(NULL, &g_s, &err) == MUSE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    safety_close(g_s);
    return 0;
}

static cJSON *answer(const char *verdict, const char *summary, const char *text, int cited)
{
    cJSON *a = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(a, "safety");
    cJSON_AddStringToObject(s, "verdict", verdict);
    cJSON *ans = cJSON_AddObjectToObject(a, "answer");
    cJSON_AddStringToObject(ans, "summary", summary);
    cJSON *secs = cJSON_AddArrayToObject(ans, "sections");
    cJSON *sec = cJSON_CreateObject();
    cJSON_AddStringToObject(sec, "heading", "Treatment");
    cJSON_AddStringToObject(sec, "text", text);
    cJSON *c = cJSON_AddArrayToObject(sec, "citations");
    if (cited)
        cJSON_AddItemToArray(c, cJSON_CreateString("kb:paracetamol"));
    cJSON_AddItemToArray(secs, sec);
    cJSON_AddArrayToObject(ans, "follow_up_questions");
    cJSON_AddItemToArray(cJSON_GetObjectItem(ans, "follow_up_questions"),
                         cJSON_CreateString("How long have you had it?"));
    return a;
}

static const char *section_text(cJSON *a)
{
    cJSON *secs = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "answer"), "sections");
    cJSON *sec = cJSON_GetArrayItem(secs, 0);
    return sec ? cJSON_GetObjectItem(sec, "text")->valuestring : NULL;
}

static void test_doses(void **state)
{
    (void)state;
    muse_error_t err = {0};
    cJSON *a = answer("allow", "Paracetamol helps.",
                      "Adults can take 1 g of paracetamol up to four times a day. "
                      "You can take up to 6 g of paracetamol per day.",
                      1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    const char *t = section_text(a);
    assert_non_null(strstr(t, "1 g of paracetamol up to four times"));
    assert_null(strstr(t, "6 g"));
    assert_non_null(strstr(t, "4000 mg per day"));
    cJSON *flags = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(a, "safety"), "output"), "dose_flags");
    assert_int_equal(cJSON_GetArraySize(flags), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(flags, 0), "medicine")->valuestring,
                        "paracetamol");
    cJSON_Delete(a);

    a = answer("allow", "Ibuprofen helps.", "Take 2 x 400 mg ibuprofen at once.", 1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    assert_null(strstr(section_text(a), "2 x 400"));
    cJSON_Delete(a);

    a = answer("allow", "Ibuprofen helps.", "Take 200 to 400 mg of ibuprofen three times a day.", 1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    assert_non_null(strstr(section_text(a), "200 to 400 mg"));
    cJSON_Delete(a);

    /* "1,000 mg" is a thousand, not one. */
    a = answer("allow", "x", "Never take more than 1,500 mg of acetaminophen at once.", 1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    assert_null(strstr(section_text(a), "1,500"));
    cJSON_Delete(a);
}

static void test_soften_and_citations(void **state)
{
    (void)state;
    muse_error_t err = {0};
    cJSON *a = answer("allow", "You definitely have diabetes.", "You have type 2 diabetes.", 1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    const char *sum = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "answer"), "summary")->valuestring;
    assert_non_null(strstr(sum, "may have diabetes"));
    assert_non_null(strstr(section_text(a), "may have type 2 diabetes"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "answer"), "disclaimer"));
    cJSON_Delete(a);

    a = answer("allow", "x", "Uncited claim.", 0);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    assert_null(section_text(a));
    cJSON_Delete(a);
}

static void test_emergency_consistency(void **state)
{
    (void)state;
    muse_error_t err = {0};
    cJSON *a = answer("emergency", "Chest pain is usually harmless. Rest and see.",
                      "This is not an emergency. Heart attacks cause chest pain.", 1);
    assert_int_equal(safety_check_output(g_s, a, &err), MUSE_OK);
    cJSON *ans = cJSON_GetObjectItem(a, "answer");
    const char *sum = cJSON_GetObjectItem(ans, "summary")->valuestring;
    assert_non_null(strstr(sum, "911"));
    assert_null(strstr(sum, "usually harmless"));
    assert_null(strstr(section_text(a), "not an emergency"));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ans, "seek_care"), "level")->valuestring,
        "emergency");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ans, "follow_up_questions")), 0);
    cJSON_Delete(a);

    assert_int_equal(safety_check_output(g_s, NULL, &err), MUSE_EINVAL);
    cJSON *bad = cJSON_CreateArray();
    assert_int_equal(safety_check_output(g_s, bad, &err), MUSE_EINVAL);
    cJSON_Delete(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doses),
        cmocka_unit_test(test_soften_and_citations),
        cmocka_unit_test(test_emergency_consistency),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
