/* Answers for people: plain text (colour only when asked), Markdown, and the
 * trace. The answer JSON stays the single source; these only format it. */
#ifndef MUSE_RENDER_H
#define MUSE_RENDER_H

#include <stdio.h>

#include <cjson/cJSON.h>

enum { RENDER_TEXT = 0, RENDER_MARKDOWN = 1 };

void render_answer(FILE *out, const cJSON *answer, int format, int color);
void render_trace(FILE *out, const cJSON *answer);

#endif
