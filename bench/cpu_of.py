#!/usr/bin/env python3
"""bench/cpu_of.py RUNS CMD...: run CMD RUNS times, one after the other, and
print the median CPU (user + system, of CMD and its children) of one run in
ms, and the list of runs. CMD must exit 0."""
import resource
import statistics
import subprocess
import sys


def main():
    runs, cmd = int(sys.argv[1]), sys.argv[2:]
    cpu = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3)
    print("%.2f %s" % (statistics.median(cpu), ",".join("%.1f" % c for c in cpu)))


main()
