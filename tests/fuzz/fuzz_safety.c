/* Fuzz target for the safety rails: any bytes through input checking,
 * redaction, PHI finding, neutralising and the result JSON. Invalid input
 * must come back as MUSE_EINVAL with a message, never a crash or a leak.
 * Built as a libFuzzer binary with clang; otherwise replayed over the seed
 * corpus by tests/fuzz/fuzz_readings_main.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safety/safety.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static safety_t *s;
    muse_error_t err = {0};
    if (!s && safety_open(NULL, &s, &err) != MUSE_OK)
        abort();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    safety_result_t r;
    if (safety_check_input(s, text, &r, &err) == MUSE_OK) {
        cJSON *j = safety_result_json(&r, text);
        char *p = j ? cJSON_PrintUnformatted(j) : NULL;
        cJSON_free(p);
        cJSON_Delete(j);
        safety_result_free(&r);
    } else if (!err.message[0]) {
        abort(); /* a rejection always says why */
    }
    char *out = NULL;
    size_t n = 0;
    if (safety_redact(s, text, &out, &n, &err) == MUSE_OK)
        free(out);
    safety_entity_t *e = NULL;
    if (safety_phi_find(s, text, &e, &n, &err) == MUSE_OK) {
        for (size_t i = 1; i < n; i++)
            if (e[i - 1].end > e[i].start || e[i].end > size)
                abort();
        free(e);
    }
    if (safety_neutralize(s, text, &out, &n, &err) == MUSE_OK)
        free(out);
    free(text);
    return 0;
}
