#!/usr/bin/env python3
"""Memory and CPU of one process group (a proxy with its workers), read from /proc.

  procstat.py rss PGID          resident bytes, VmRSS summed over the group's processes
  procstat.py cpu PGID          user+system CPU in milliseconds, summed likewise
  procstat.py hwm PGID          peak resident bytes, VmHWM (each process's own peak) summed
  procstat.py pids PGID         the group's processes

Summing VmRSS or VmHWM counts pages shared between a master and its workers more than once; the
bench reports it that way for every proxy alike. Processes that exit are not counted.
"""
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read().decode("ascii", "replace")
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def group(pgid):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if int(stat_fields(name)[2]) == pgid:  # field 5: pgrp
                pids.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def rss(pgid):
    return status_bytes(pgid, "VmRSS")


def status_bytes(pgid, field):
    """A /proc/PID/status field given in kB (VmRSS, VmHWM), in bytes, summed over the group."""
    total = 0
    for pid in group(pgid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_ms(pgid):
    total = 0
    for pid in group(pgid):
        try:
            fields = stat_fields(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, ValueError, IndexError):
            pass
    return total * 1000 // TICKS


def main():
    cmd, pgid = sys.argv[1], int(sys.argv[2])
    if cmd == "rss":
        print(rss(pgid))
    elif cmd == "hwm":
        print(status_bytes(pgid, "VmHWM"))
    elif cmd == "cpu":
        print(cpu_ms(pgid))
    elif cmd == "pids":
        print(" ".join(map(str, group(pgid))))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
