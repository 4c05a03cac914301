/* Replays files through a fuzz target's LLVMFuzzerTestOneInput, for
 * compilers without libFuzzer: `fuzz_readings_csv_replay FILE...` runs each
 * file once (the seed corpus is a test). With clang the real fuzzers are
 * built instead and this file is not used. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, n = 0;
        unsigned char *buf = malloc(cap);
        for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
            n += r;
            if (n == cap) {
                unsigned char *nb = realloc(buf, cap * 2);
                if (!nb)
                    break;
                buf = nb;
                cap *= 2;
            }
        }
        fclose(f);
        if (!buf)
            return 1;
        LLVMFuzzerTestOneInput(buf, n);
        /* Every prefix too: truncated files are the commonest bad input. */
        for (size_t k = 0; k < n; k += 1 + n / 64)
            LLVMFuzzerTestOneInput(buf, k);
        free(buf);
    }
    return 0;
}
