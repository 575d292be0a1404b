/* bench_encode: line-protocol encoder throughput on one core.
 *
 * 1,000,000 k8s_pod points (500 series: 100 pods x 5 namespaces, 2000 scrapes 15 s apart),
 * each like
 *   k8s_pod,cluster=prod,namespace=ns7,node=node-3,pod=app-17 cpu_usage_millicores=119i,
 *       memory_usage_bytes=134623i,restarts=2i <ns>
 * encoded into one buffer that is flushed (reset) every 5000 lines, as the spool batches do.
 * Timed with CLOCK_MONOTONIC, best of 3. Prints one table row: encoder | points/s | MB/s.
 */
#include "../store/lp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PODS = 100, NAMESPACES = 5, SERIES = PODS * NAMESPACES, POINTS = 1000000,
       FLUSH_EVERY = 5000, RUNS = 3 };

typedef struct series {
    char ns[16], node[16], pod[16];
    lp_tag tags[4];
} series;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    static series ser[SERIES];
    for (int s = 0; s < SERIES; s++) {
        int pod = s % PODS, ns = s / PODS;
        int a = snprintf(ser[s].ns, sizeof ser[s].ns, "ns%d", ns);
        int b = snprintf(ser[s].node, sizeof ser[s].node, "node-%d", pod % 8);
        int c = snprintf(ser[s].pod, sizeof ser[s].pod, "app-%d", pod);
        if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof ser[s].ns ||
            (size_t)b >= sizeof ser[s].node || (size_t)c >= sizeof ser[s].pod) {
            fprintf(stderr, "bench_encode: name too long\n");
            return 1;
        }
        ser[s].tags[0] = (lp_tag){"cluster", "prod"};
        ser[s].tags[1] = (lp_tag){"namespace", ser[s].ns};
        ser[s].tags[2] = (lp_tag){"node", ser[s].node};
        ser[s].tags[3] = (lp_tag){"pod", ser[s].pod};
    }

    buf out;
    buf_init(&out, (size_t)64 << 20);
    const int64_t t0 = INT64_C(1700000000000000000), step = INT64_C(15000000000);
    double best = 0;
    size_t bytes = 0;
    char err[256];
    for (int run = 0; run < RUNS; run++) {
        size_t total = 0, lines = 0;
        buf_reset(&out);
        double start = now_s();
        for (int i = 0; i < POINTS; i++) {
            int s = i % SERIES;
            int64_t scrape = i / SERIES;
            lp_field f[3] = {
                lp_f_int("cpu_usage_millicores", 50 + (s * 7 + scrape * 13) % 950),
                lp_f_int("memory_usage_bytes", 100000 + (s * 4099 + scrape * 977) % 900000),
                lp_f_int("restarts", s % 5),
            };
            lp_point p = {.measurement = "k8s_pod", .tags = ser[s].tags, .ntags = 4,
                          .fields = f, .nfields = 3, .time_ns = t0 + scrape * step,
                          .has_time = true};
            if (lp_encode(&p, LP_NS, &out, NULL, err, sizeof err) != 0) {
                fprintf(stderr, "bench_encode: %s\n", err);
                buf_free(&out);
                return 1;
            }
            if (++lines == FLUSH_EVERY) {
                total += out.len;
                buf_reset(&out);
                lines = 0;
            }
        }
        total += out.len;
        double dt = now_s() - start;
        if (run == 0 || dt < best)
            best = dt;
        bytes = total;
    }
    buf_free(&out);
    double pps = POINTS / best, mbs = (double)bytes / best / 1e6;
    printf("encoder | %.0f points/s | %.1f MB/s\n", pps, mbs);
    return 0;
}
