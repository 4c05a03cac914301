/* Small pieces of the public API that every entry point shares: error names,
 * version, mode names, and the free function for memory libmuse hands out. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "muse.h"

const char *muse_strerror(int code)
{
    switch (code) {
    case MUSE_OK: return "ok";
    case MUSE_EINVAL: return "invalid input";
    case MUSE_ENOMEM: return "out of memory";
    case MUSE_EIO: return "input/output error";
    case MUSE_ENOTFOUND: return "not found";
    case MUSE_ECORRUPT: return "damaged store or file";
    case MUSE_EPARSE: return "cannot parse input";
    case MUSE_ERANGE: return "value out of range";
    case MUSE_EUNSUPPORTED: return "not supported";
    case MUSE_EBACKEND: return "model backend failed";
    case MUSE_ELIMIT: return "limit exceeded";
    case MUSE_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

const char *muse_version(void)
{
    return MUSE_VERSION_STRING;
}

void muse_free(void *p)
{
    free(p);
}

static const char *const mode_names[] = {"instant", "thinking", "contemplating", "auto"};

const char *muse_mode_name(muse_mode_t mode)
{
    return (unsigned)mode < 4 ? mode_names[mode] : "instant";
}

int muse_mode_parse(const char *name, muse_mode_t *out)
{
    for (int i = 0; name && i < 4; i++)
        if (strcasecmp(name, mode_names[i]) == 0) {
            *out = (muse_mode_t)i;
            return MUSE_OK;
        }
    return MUSE_EINVAL;
}

void muse_options_init(muse_options_t *o)
{
    memset(o, 0, sizeof *o);
}

void muse_ask_options_init(muse_ask_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->mode = MUSE_MODE_AUTO;
}
