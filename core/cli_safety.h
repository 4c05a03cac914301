/* `muse safety` and `muse eval safety`: the command-line doors to the safety
 * module (safety/safety.h). cli_safety() is declared in core/cli.h with the
 * other subcommands; this header adds the evaluation entry point that
 * core/cli_eval.c dispatches to. */
#ifndef MUSE_CLI_SAFETY_H
#define MUSE_CLI_SAFETY_H

#include "core/cli.h"

/* muse eval safety [--data DIR] [--own FILE] [--json]: runs the filter over
 * the project's labelled set and the public sets in DIR (default
 * $MUSE_EVAL_DIR, else ../shared/eval) and prints each figure against its
 * target. argv[0] is "safety". Exit status 0 when every figure measured meets
 * its target, 1 when one does not or a set could not be read, 2 on a usage
 * error. Sets that are absent are reported as skipped. */
int cli_eval_safety(int argc, char **argv, cli_ctx_t *ctx);

#endif
