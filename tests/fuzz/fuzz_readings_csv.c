/* libFuzzer target: the csv readings reader (medical_read_buffer with
 * MED_FORMAT_CSV), then the whole interpretation of whatever it read, so that
 * statistics, patterns and the JSON see hostile readings too. Built only
 * with clang (-fsanitize=fuzzer); fuzz_readings_main.c replays a corpus
 * with any compiler. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "medical/medical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    med_series_t s;
    med_problems_t p;
    medical_read_buffer((const char *)data, size, MED_FORMAT_CSV, "fuzz.csv", &s, &p, NULL);
    med_interpret_opts_t o = {.problems = &p};
    cJSON *j = NULL;
    if (medical_interpret_json(&s, &o, &j, NULL) == MUSE_OK) {
        char *t = NULL;
        if (medical_interpret_text(j, &t, NULL) == MUSE_OK)
            free(t);
        cJSON_Delete(j);
    }
    med_series_free(&s);
    med_problems_free(&p);
    return 0;
}
