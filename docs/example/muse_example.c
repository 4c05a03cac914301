/* An example program using libmuse, the C API of Muse (docs/libmuse.md).
 *
 * Build it against the installed library:
 *     cc -std=c11 muse_example.c $(pkg-config --cflags --libs muse) -pthread -o muse_example
 *
 * Run it:
 *     ./muse_example ask "Is 150/95 a high blood pressure?"    the answer object as JSON
 *     ./muse_example safety "crushing chest pain"              the safety verdict as JSON
 *     ./muse_example threads 8 "What is asthma?"               8 threads share one muse_t
 *     ./muse_example chart bp.svg                              a blood-pressure chart as SVG
 *
 * The knowledge store is $MUSE_KB, else the one `meson install` put in
 * PREFIX/share/muse/muse.db. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <muse.h>

/* Prints what failed and returns the exit status for it. */
static int fail(const char *what, const muse_error_t *err)
{
    fprintf(stderr, "muse_example: %s: %s\n", what, err->message[0] ? err->message : muse_strerror(err->code));
    return 1;
}

/* The answer object as JSON text (docs/answer.md). muse_answer.c reads the
 * same answer as a struct instead. */
static int ask(muse_t *m, const char *question)
{
    muse_ask_options_t o;
    muse_ask_options_init(&o);
    o.want_chart = 1;                   /* attach chart specs where one fits */
    char *json = NULL;                  /* ours: freed with muse_free() */
    muse_error_t err = {0};
    if (muse_ask_json(m, question, &o, &json, &err) != MUSE_OK)
        return fail("ask", &err);
    puts(json);
    muse_free(json);
    return 0;
}

static int safety(muse_t *m, const char *text)
{
    char *json = NULL;
    muse_error_t err = {0};
    if (muse_safety_check_json(m, text, &json, &err) != MUSE_OK)
        return fail("safety check", &err);
    puts(json);
    muse_free(json);
    return 0;
}

/* One muse_t answers many threads at once: no lock is needed around it. */
typedef struct job {
    muse_t *m;
    const char *question;
    char *json;
    muse_error_t err;
    int rc;
} job_t;

static void *ask_thread(void *arg)
{
    job_t *j = arg;
    muse_ask_options_t o;
    muse_ask_options_init(&o);
    o.mode = MUSE_MODE_INSTANT;
    j->rc = muse_ask_json(j->m, j->question, &o, &j->json, &j->err);
    return NULL;
}

/* The answer minus the fields that differ from run to run (timings). */
static size_t stable_prefix(const char *json)
{
    const char *t = strstr(json, "\"trace\"");
    return t ? (size_t)(t - json) : strlen(json);
}

static int threads(muse_t *m, int n, const char *question)
{
    job_t *jobs = calloc((size_t)n, sizeof *jobs);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    int status = 1, started = 0;
    if (!jobs || !tids)
        goto done;
    for (; started < n; started++) {
        jobs[started].m = m;
        jobs[started].question = question;
        if (pthread_create(&tids[started], NULL, ask_thread, &jobs[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    int same = started == n;
    for (int i = 0; i < started; i++) {
        if (jobs[i].rc != MUSE_OK) {
            fail("ask in a thread", &jobs[i].err);
            same = 0;
        } else if (i > 0 && jobs[0].json &&
                   (stable_prefix(jobs[i].json) != stable_prefix(jobs[0].json) ||
                    memcmp(jobs[i].json, jobs[0].json, stable_prefix(jobs[0].json)) != 0)) {
            same = 0;
        }
    }
    printf("%d threads answered; answers identical: %s\n", started, same ? "yes" : "no");
    status = same ? 0 : 1;
done:
    for (int i = 0; jobs && i < started; i++)
        muse_free(jobs[i].json);
    free(jobs);
    free(tids);
    return status;
}

static int chart(muse_t *m, const char *path)
{
    static const char spec[] =
        "{\"preset\":\"bp_trend\",\"title\":\"Morning blood pressure\",\"data\":["
        "{\"time\":\"2024-03-04T08:00:00Z\",\"systolic\":142,\"diastolic\":91},"
        "{\"time\":\"2024-03-05T08:00:00Z\",\"systolic\":138,\"diastolic\":88},"
        "{\"time\":\"2024-03-06T08:00:00Z\",\"systolic\":135,\"diastolic\":86}]}";
    unsigned char *svg = NULL;          /* ours: freed with muse_free() */
    size_t len = 0;
    muse_error_t err = {0};
    if (muse_chart_render(m, spec, "svg", &svg, &len, &err) != MUSE_OK)
        return fail("chart", &err);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(svg, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    muse_free(svg);
    if (!ok) {
        fprintf(stderr, "muse_example: %s: cannot write\n", path);
        return 1;
    }
    printf("wrote %zu bytes of SVG to %s\n", len, path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ask QUESTION | safety TEXT | threads N QUESTION | chart OUT.svg\n", argv[0]);
        return 2;
    }
    muse_options_t o;
    muse_options_init(&o);              /* kb_path NULL: $MUSE_KB, then the installed store */
    o.locale = "US";
    muse_t *m = NULL;
    muse_error_t err = {0};
    if (muse_open(&o, &m, &err) != MUSE_OK)
        return fail("open", &err);
    fprintf(stderr, "libmuse %s, knowledge store %s\n", muse_version(), muse_kb_path(m));

    int status = 2;
    if (strcmp(argv[1], "ask") == 0)
        status = ask(m, argv[2]);
    else if (strcmp(argv[1], "safety") == 0)
        status = safety(m, argv[2]);
    else if (strcmp(argv[1], "threads") == 0 && argc >= 4)
        status = threads(m, atoi(argv[2]) > 0 ? atoi(argv[2]) : 4, argv[3]);
    else if (strcmp(argv[1], "chart") == 0)
        status = chart(m, argv[2]);
    else
        fprintf(stderr, "%s: unknown command '%s'\n", argv[0], argv[1]);
    muse_close(m);
    return status;
}
