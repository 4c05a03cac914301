/* Reading an answer as a C struct with muse_ask(), no JSON parser needed
 * (docs/libmuse.md). Build it against the installed library:
 *     cc -std=c11 muse_answer.c $(pkg-config --cflags --libs muse) -o muse_answer
 *     ./muse_answer "What is asthma?"
 */
#include <stdio.h>
#include <string.h>

#include <muse.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s QUESTION\n", argv[0]);
        return 2;
    }
    muse_t *m = NULL;
    muse_error_t err = {0};
    if (muse_open(NULL, &m, &err) != MUSE_OK) {     /* NULL: the default options */
        fprintf(stderr, "muse_answer: %s\n", err.message);
        return 1;
    }
    muse_answer_t *a = NULL;                        /* ours: freed with muse_answer_free() */
    if (muse_ask(m, argv[1], NULL, &a, &err) != MUSE_OK) {
        fprintf(stderr, "muse_answer: %s\n", err.message);
        muse_close(m);
        return 1;
    }
    if (strcmp(a->verdict, "allow") != 0) {
        /* An emergency or a crisis: the summary is what to do now, and nothing else. */
        printf("[%s] %s\n", a->verdict, a->summary);
    } else {
        printf("%s\n", a->summary);
        for (size_t i = 0; i < a->n_sections; i++) {
            printf("\n## %s\n%s", a->sections[i].heading, a->sections[i].text);
            for (size_t k = 0; k < a->sections[i].n_citations; k++)
                printf(" [%s]", a->sections[i].citations[k]);
            printf("\n");
        }
        printf("\nseek care: %s\nsources:\n", a->seek_care);
        for (size_t i = 0; i < a->n_sources; i++)
            printf("  %s: %s (%s)%s%s\n", a->sources[i].id, a->sources[i].title, a->sources[i].review_status,
                   a->sources[i].url ? " " : "", a->sources[i].url ? a->sources[i].url : "");
        printf("mode %s, %.1f ms\n", a->mode, a->latency_ms);
    }
    muse_answer_free(a);                            /* every field above goes with it */
    muse_close(m);
    return 0;
}
