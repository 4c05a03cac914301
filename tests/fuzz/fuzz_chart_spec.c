/* Fuzz target for the chart spec parser, presets and layout.
 *
 * libFuzzer (clang -fsanitize=fuzzer) calls LLVMFuzzerTestOneInput with
 * arbitrary bytes: a spec must either parse or fail with a message, and a
 * parsed spec must lay out and render to SVG, never crash, hang or leak.
 * Built with -DFUZZ_REPLAY it is an ordinary program that runs the inputs
 * named on its command line (files, or directories of them), so the seed
 * corpus and any crash found later run as a regression test under gcc. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/viz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;   /* big inputs only make the fuzzer slow */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    viz_chart_t *c = NULL;
    muse_error_t err = {0};
    if (viz_chart_parse(text, &c, &err) == MUSE_OK) {
        /* A small page keeps each run fast; the spec's own size is checked
         * by the parser either way. */
        viz_render_opts_t o = {.width = 320, .height = 240, .dpi = 24, .id_prefix = "f"};
        viz_scene_t *s = NULL;
        if (viz_scene_build(c, &o, &s, &err) == MUSE_OK) {
            unsigned char *out = NULL;
            size_t len = 0;
            if (viz_scene_render(s, VIZ_SVG, &o, &out, &len, &err) == MUSE_OK && len == 0)
                abort();   /* success must produce something */
            free(out);
            char *json = NULL;
            if (viz_scene_to_json(s, &json, NULL) == MUSE_OK)
                free(json);
        }
        viz_scene_free(s);
    } else if (!err.message[0]) {
        abort();   /* every failure says why */
    }
    viz_chart_free(c);
    free(text);
    return 0;
}

#ifdef FUZZ_REPLAY
#include <cairo.h>
#include <fontconfig/fontconfig.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)n) {
        free(buf);
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0, runs = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            bad |= run_file(argv[i]);
            runs++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            bad |= run_file(path);
            runs++;
        }
        closedir(d);
    }
    printf("%d passed, %d failed\n", bad ? 0 : runs, bad ? 1 : 0);
    /* Drop Cairo's and fontconfig's caches so LeakSanitizer sees ours only. */
    cairo_debug_reset_static_data();
    FcFini();
    return bad;
}
#endif
