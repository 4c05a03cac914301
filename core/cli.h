/* The muse command line: one function per subcommand, dispatched by
 * core/main.c. argv[0] is the subcommand name. Each returns the process exit
 * status: 0 success, 1 failure (message already on stderr), 2 usage error
 * (usage already on stderr). */
#ifndef MUSE_CLI_H
#define MUSE_CLI_H

#include <stdio.h>

#include "muse.h"

typedef struct cli_ctx {
    int verbose;             /* -v count */
    int color;               /* stdout is a TTY and NO_COLOR is unset */
    const char *kb_path;     /* resolved knowledge-store path */
    const char *locale;      /* --locale / MUSE_LOCALE; NULL: US */
    int reviewed_only;       /* --reviewed-only */
    const char *backend;     /* --backend grounded|openai / MUSE_BACKEND; NULL: grounded */
    int allow_phi;           /* --allow-phi: openai backend sends text unredacted */
} cli_ctx_t;

int cli_ask(int argc, char **argv, cli_ctx_t *ctx);
int cli_chat(int argc, char **argv, cli_ctx_t *ctx);
int cli_chart(int argc, char **argv, cli_ctx_t *ctx);
int cli_safety(int argc, char **argv, cli_ctx_t *ctx);
int cli_kb(int argc, char **argv, cli_ctx_t *ctx);
int cli_interpret(int argc, char **argv, cli_ctx_t *ctx);
int cli_calc(int argc, char **argv, cli_ctx_t *ctx);
int cli_report(int argc, char **argv, cli_ctx_t *ctx);
int cli_serve(int argc, char **argv, cli_ctx_t *ctx);
int cli_eval(int argc, char **argv, cli_ctx_t *ctx);

/* Prints "muse: MESSAGE" on stderr for a failed call; returns 1. */
int cli_fail(const muse_error_t *err);
/* Prints "muse CMD: MESSAGE" and "Try 'muse CMD --help'." on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* Writes text to path through a temporary file and rename(). */
int cli_write_file(const char *path, const void *data, size_t len, muse_error_t *err);
/* Reads a whole file (or stdin for "-"); *out freed with free(). */
int cli_read_file(const char *path, char **out, size_t *len, size_t max, muse_error_t *err);

#endif
