/* test_sig: SIGTERM/SIGINT as a stop request (runtime/sig.h): the process lives on, the
 * flag is set, waits end early and an HTTP transfer in progress is aborted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../runtime/clock.h"
#include "../../runtime/http.h"
#include "../../runtime/sig.h"
#include "../../runtime/tparse.h"
#include "harness.h"

/* a loopback port that accepts connections (the kernel's backlog) and never answers */
static int silent_server(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int main(void)
{
    CHECK(!sig_stop_requested(), "no stop before any signal");
    CHECK_STREQ(sig_name(), "", "no signal yet");
    CHECK(sig_install() == 0, "sig_install");
    CHECK(sig_install() == 0, "sig_install twice");

    char err[512];
    CHECK(http_global_init(err, sizeof err) == 0, "http_global_init: %s", err);
    int port = 0;
    int lfd = silent_server(&port);
    CHECK(lfd >= 0, "a loopback listener");
    http_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 20000;
    http_client *c = http_new(&o, err, sizeof err);
    CHECK(c != NULL, "http_new: %s", err);

    /* SIGTERM while nothing runs: the process lives on, the flag is set */
    CHECK(raise(SIGTERM) == 0, "raise");
    CHECK(sig_stop_requested(), "SIGTERM requests a stop");
    CHECK_STREQ(sig_name(), "SIGTERM", "which signal");

    /* a wait ends at once */
    int64_t t0 = clock_mono_ns();
    clock_sleep_ms(5000);
    int64_t waited_ms = (clock_mono_ns() - t0) / 1000000;
    CHECK(waited_ms < 500, "clock_sleep_ms(5000) after a stop request took %lld ms",
          (long long)waited_ms);

    /* a transfer to a server that never answers is aborted, not left to its 20 s timeout */
    if (c && lfd >= 0) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/never", port);
        http_req q = { .method = "GET", .url = url };
        http_resp r;
        http_resp_init(&r);
        err[0] = '\0';
        t0 = clock_mono_ns();
        int rc = http_request(c, &q, &r, err, sizeof err);
        long ms = (long)((clock_mono_ns() - t0) / 1000000);
        CHECK(rc == -1, "the request failed (rc %d)", rc);
        CHECK(ms < 3000, "aborted after %ld ms", ms);
        CHECK(strstr(err, "stopped by SIGTERM") != NULL, "the reason: [%s]", err);
        http_resp_free(&r);
    }
    http_free(c);
    if (lfd >= 0)
        close(lfd);
    http_global_cleanup();
    return th_summary("test_sig");
}
