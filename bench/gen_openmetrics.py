#!/usr/bin/python3
"""Write synthetic Prometheus history as OpenMetrics text, for
`promtool tsdb create-blocks-from openmetrics FILE DIR`.

  gen_openmetrics.py --series 100 --start 1700000000 --end 1700086400 --interval 60 > h.om

Two metric families, each with --series series (labels series="sNNN", host="hN"):
  <prefix>_value    a gauge with three decimals (values that are not exact in binary)
  <prefix>_total    a counter (integers, growing)
Samples at every multiple of --interval in [start, end] (Unix seconds). The values are a
pure function of (series, time), so a test can recompute them. --families 1 writes only the
gauge. Samples of one series are contiguous and in time order, as OpenMetrics wants.
"""
import argparse
import sys


def gauge(i, t):
    return ((i * 7919 + (t // 15) * 104729) % 1000003) / 1000.0 + i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--prefix", default="hist")
    ap.add_argument("--families", type=int, default=2, choices=(1, 2))
    a = ap.parse_args()
    first = -(-a.start // a.interval) * a.interval
    times = range(first, a.end + 1, a.interval)
    out = sys.stdout
    w = out.write
    w("# HELP %s_value synthetic gauge\n# TYPE %s_value gauge\n" % (a.prefix, a.prefix))
    for i in range(a.series):
        lab = '%s_value{series="s%03d",host="h%d"} ' % (a.prefix, i, i % 10)
        w("".join("%s%.3f %d\n" % (lab, gauge(i, t), t) for t in times))
    if a.families == 2:
        w("# HELP %s synthetic counter\n# TYPE %s counter\n" % (a.prefix, a.prefix))
        for i in range(a.series):
            lab = '%s_total{series="s%03d",host="h%d"} ' % (a.prefix, i, i % 10)
            w("".join("%s%d %d\n" % (lab, (t - first) // a.interval * (i + 1), t)
                      for t in times))
    w("# EOF\n")


if __name__ == "__main__":
    main()
