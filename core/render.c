/* See render.h. Emergency and crisis answers print their message first and
 * alone, so nothing stands between the reader and what to do now. */
#include <string.h>

#include "core/render.h"

#define BOLD(c) ((c) ? "\033[1m" : "")
#define RED(c) ((c) ? "\033[1;31m" : "")
#define DIM(c) ((c) ? "\033[2m" : "")
#define OFF(c) ((c) ? "\033[0m" : "")

static const char *str(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return s ? s : "";
}

/* Citation number of an id in sources[] (1-based), or 0. */
static int cite_no(const cJSON *sources, const char *id)
{
    int i = 1;
    const cJSON *s;
    cJSON_ArrayForEach(s, sources) {
        if (strcmp(str(s, "id"), id) == 0)
            return i;
        i++;
    }
    return 0;
}

static const char *level_words(const char *level)
{
    if (strcmp(level, "emergency") == 0)
        return "Emergency: get help now";
    if (strcmp(level, "urgent") == 0)
        return "Urgent: see a clinician within 24 hours";
    if (strcmp(level, "routine") == 0)
        return "Book an appointment";
    return "Self-care is usually enough";
}

void render_answer(FILE *out, const cJSON *a, int format, int color)
{
    int md = format == RENDER_MARKDOWN;
    if (md)
        color = 0;
    const cJSON *safety = cJSON_GetObjectItemCaseSensitive(a, "safety");
    const char *verdict = str(safety, "verdict");
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(a, "answer");
    const cJSON *sources = cJSON_GetObjectItemCaseSensitive(a, "sources");
    if (strcmp(verdict, "emergency") == 0 || strcmp(verdict, "crisis") == 0) {
        fprintf(out, "%s%s%s%s\n", md ? "**" : "", RED(color), str(ans, "summary"), OFF(color));
        if (md)
            fprintf(out, "**\n");
        return;
    }
    if (*str(ans, "notice"))
        fprintf(out, "%s%s%s\n\n", BOLD(color), str(ans, "notice"), OFF(color));
    fprintf(out, "%s\n", str(ans, "summary"));
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(ans, "sections")) {
        fprintf(out, "\n%s%s%s%s\n", md ? "## " : "", BOLD(color), str(s, "heading"), OFF(color));
        fprintf(out, "%s", str(s, "text"));
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "citations")) {
            int n = cite_no(sources, cJSON_GetStringValue(c) ? cJSON_GetStringValue(c) : "");
            if (n)
                fprintf(out, " [%d]", n);
        }
        fprintf(out, "\n");
    }
    const cJSON *fu = cJSON_GetObjectItemCaseSensitive(ans, "follow_up_questions");
    if (cJSON_GetArraySize(fu) > 0) {
        fprintf(out, "\n%s%sTo give a better answer, it would help to know%s\n", md ? "## " : "", BOLD(color), OFF(color));
        cJSON_ArrayForEach(s, fu)
            fprintf(out, "- %s\n", cJSON_GetStringValue(s) ? cJSON_GetStringValue(s) : "");
    }
    const cJSON *seek = cJSON_GetObjectItemCaseSensitive(ans, "seek_care");
    if (seek) {
        const char *level = str(seek, "level");
        int loud = strcmp(level, "urgent") == 0 || strcmp(level, "emergency") == 0;
        fprintf(out, "\n%s%s%s.%s %s\n", md ? "**" : "", loud ? RED(color) : BOLD(color), level_words(level),
                md ? "**" : OFF(color), str(seek, "reason"));
    }
    if (cJSON_GetArraySize(sources) > 0) {
        fprintf(out, "\n%s%sSources%s\n", md ? "## " : "", BOLD(color), OFF(color));
        int i = 1;
        cJSON_ArrayForEach(s, sources) {
            const char *status = str(s, "review_status");
            const char *note = strcmp(status, "draft") == 0 ? "draft, not clinically reviewed"
                             : strcmp(status, "reviewed") == 0 ? "clinically reviewed"
                             : status;
            fprintf(out, "%s[%d] %s %s(%s)%s", md ? "- " : "", i++, str(s, "title"), DIM(color), note, OFF(color));
            const cJSON *r;
            const char *sep = ": ";
            cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "references")) {
                const char *pub = str(r, "publisher");
                fprintf(out, "%s%s%s%s", sep, pub, *pub ? ", " : "", str(r, "url"));
                sep = "; ";
            }
            fprintf(out, "\n");
        }
    }
    const char *disc = str(ans, "disclaimer");
    if (*disc)
        fprintf(out, "\n%s%s%s\n", DIM(color), disc, OFF(color));
}

void render_trace(FILE *out, const cJSON *a)
{
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(a, "trace");
    fprintf(out, "trace: mode %s, %d reasoning tokens, confidence %.2f, %d steps pruned\n",
            str(a, "mode"), (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tr, "reasoning_tokens")),
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tr, "confidence")),
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tr, "pruned")));
    const cJSON *s;
    int i = 1;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(tr, "steps")) {
        fprintf(out, "  %2d. %-14s %5d tokens %8.3f ms  %s\n", i++, str(s, "name"),
                (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "reasoning_tokens")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "ms")), str(s, "detail"));
    }
    const char *dis = str(tr, "disagreement");
    if (*dis)
        fprintf(out, "  note: %s\n", dis);
}
