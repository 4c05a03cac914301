/* The public evaluation sets in ../shared/eval (MUSE_EVAL_DIR), against the
 * targets of issue 5. Each test skips with a message when its data is
 * absent; none of these sets is ever used to write rules or train. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

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

/* Figures still short of issue 5's targets. The test prints the gap and
 * guards the level reached, so any regression fails; raise a floor whenever
 * the figure improves, and delete the line when the target is met. */
static const struct {
    const char *dataset, *figure;
    double floor;
} KNOWN_GAPS[] = {
    /* None at present: PERSON.recall met its target (0.951 on 2026-11-26).
     * The sentinel keeps the table valid C while it is empty. */
    {NULL, NULL, 0},
};

static double floor_of(const char *dataset, const char *figure)
{
    for (size_t i = 0; i < sizeof KNOWN_GAPS / sizeof KNOWN_GAPS[0]; i++)
        if (KNOWN_GAPS[i].dataset && strcmp(KNOWN_GAPS[i].dataset, dataset) == 0 &&
            strcmp(KNOWN_GAPS[i].figure, figure) == 0)
            return KNOWN_GAPS[i].floor;
    return -1;
}

static void run(const char *dataset, const char *rel)
{
    const char *dir = getenv("MUSE_EVAL_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/eval", rel);
    struct stat st;
    if (stat(path, &st) != 0) {
        print_message("skipped: %s not found\n", path);
        skip();
    }
    safety_eval_report_t rep;
    muse_error_t err = {0};
    if (safety_eval_run(g_s, dataset, path, &rep, &err) != MUSE_OK)
        fail_msg("%s: %s", dataset, err.message);
    int ok = 1;
    for (size_t i = 0; i < rep.n_figures; i++) {
        const safety_eval_figure_t *f = &rep.figures[i];
        int pass = f->higher_is_better ? f->value >= f->target : f->value <= f->target;
        double fl = floor_of(dataset, f->name);
        int guarded = !pass && fl >= 0 && f->higher_is_better && f->value >= fl;
        print_message("%s: %-26s %.3f (%zu/%zu) target %s %.2f%s\n", dataset, f->name, f->value,
                      f->num, f->den, f->higher_is_better ? ">=" : "<=", f->target,
                      pass ? "" : guarded ? "  BELOW TARGET (known gap, guarded at its floor)" : "  BELOW TARGET");
        ok &= pass || guarded;
    }
    assert_true(rep.n_items > 0);
    assert_true(ok);
}

static void test_xstest(void **state)
{
    (void)state;
    run("xstest", "xstest_prompts.csv");
}

static void test_medsafetybench(void **state)
{
    (void)state;
    run("medsafetybench", "medsafetybench");
}

static void test_presidio(void **state)
{
    (void)state;
    run("presidio", "presidio_synth_dataset_v2.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xstest),
        cmocka_unit_test(test_medsafetybench),
        cmocka_unit_test(test_presidio),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
