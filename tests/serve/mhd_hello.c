/* The baseline for tests/serve/load.sh: the smallest libmicrohttpd server,
 * with the same threading as `muse serve` (internal thread pool on epoll),
 * answering every request with a fixed 13-byte body. Muse's figures are read
 * against this one, measured in the same run on the same machine.
 * Usage: mhd_hello PORT THREADS (runs until killed). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static enum MHD_Result hello(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size,
                             void **con_cls)
{
    (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
    static int first;
    if (*con_cls == NULL) {
        *con_cls = &first;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    static const char body[] = "Hello, world!";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mhd_hello PORT THREADS\n");
        return 2;
    }
    /* Block the stop signals before MHD's threads start, so they inherit the
     * mask and only sigwait() below sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    struct MHD_Daemon *d = MHD_start_daemon(flags, (unsigned short)atoi(argv[1]), NULL, NULL, hello, NULL,
                                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]),
                                            MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd_hello: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
