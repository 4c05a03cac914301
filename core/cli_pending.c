/* Subcommands whose modules are still being built (issue 8: report, issue 9:
 * serve). They say so plainly and exit 1 rather than pretending to work. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"

#if !defined(MUSE_HAVE_CLI_REPORT) || !defined(MUSE_HAVE_CLI_SERVE)

static int pending(const char *cmd, const char *what, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("muse %s: %s is not in this build yet.\n", cmd, what);
            return 0;
        }
    fprintf(stderr, "muse %s: %s is not in this build yet\n", cmd, what);
    return 1;
}

#ifndef MUSE_HAVE_CLI_REPORT
int cli_report(int argc, char **argv, cli_ctx_t *ctx)
{
    (void)ctx;
    return pending("report", "PDF reporting", argc, argv);
}
#endif

#ifndef MUSE_HAVE_CLI_SERVE
int cli_serve(int argc, char **argv, cli_ctx_t *ctx)
{
    (void)ctx;
    return pending("serve", "the HTTP server", argc, argv);
}
#endif
#endif
