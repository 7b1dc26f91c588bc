#!/usr/bin/env python3
"""The exactly-relay binary on large messages, under malloc settings given
in the environment, side by side in one script run.

The in-process benchmarks (tests/bench/) run the broker, the pipe and the
relay in one process, so a process-wide setting such as malloc's mmap
threshold applies to all of them. This script runs the real binaries as
separate processes instead: exactly-broker (the embedded mock cluster),
exactly-produce for the input, and exactly-relay once per setting and
round, each relay reading the same input into a fresh output topic and
state directory. The relay's CPU per MiB is read from /proc, so it counts
the relay process alone, not the broker.

Input: --messages messages of 8 MiB (a 256-byte random block repeated,
the first 8 bytes the message number, lz4 on input as the mock keeps only
~5 MiB per partition), spread over 4 partitions, chunked by exactly-produce
at its default chunk size. Each relay: checkpoint every --interval-ms,
synced, the consumer queue at 256 MiB (see OPERATIONS.md, "Large
messages"). Time runs from the first polled record (metrics endpoint) to
every message forwarded. The relay refreshes its metrics every 50 ms (its
RunFor slice; 200 ms before 2026-11-22, which made relay runs of ~1.2 s
read in steps of about 17 %), so a run's time is good to about 50 ms.

Settings (positional): "pipe" for the baseline, a bare librdkafka
consume -> produce pipe copying the same chunk records in a process of its
own (tests/bench/tools/bare_pipe.cc, with the relay's client defaults and
malloc settings); "binary" for the relay as shipped (256 KiB mmap
threshold, raised to 4 MiB with a 64 MiB trim threshold when chunked
messages arrive); a number of bytes, run as MALLOC_MMAP_THRESHOLD_=N; or
NAME=VALUE, run with that in the environment, e.g.
MALLOC_TRIM_THRESHOLD_=131072 (glibc's default trim threshold); or the
path of another exactly-relay binary (e.g. an older commit's build), run
as shipped. The relay leaves alone what the environment sets.

  scripts/bench_relay_binary.py [--messages 96] [--rounds 3] [--interval-ms 100] binary 262144

Prints one line per run and a median per setting: MiB/s, the process's
CPU per MiB, its minor page faults per MiB, and its peak RSS; with "pipe" among the
settings, also each other setting's MiB/s over the pipe's in the same
round (paired), and the median of those ratios.

  scripts/bench_relay_binary.py --rounds 9 pipe binary
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "apps")
BARE_PIPE = os.path.join(ROOT, "build", "tests", "bench", "tools", "bare_pipe")
SIZE = 8 << 20
PARTITIONS = 4


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.split()[-1])
    return total


def cpu_and_faults(pid):
    """CPU seconds and minor page faults so far (each fault a page zeroed
    or mapped in: what freeing memory to the kernel costs the next use)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self):
        self.proc = subprocess.Popen([os.path.join(BIN, "exactly-broker"), "--topic", f"in:{PARTITIONS}"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.bootstraps = self.proc.stdout.readline().strip()

    def topic(self, name):
        self.proc.stdin.write(f"topic {name} {PARTITIONS}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            sys.exit(f"broker: topic {name}: {answer}")

    def stop(self):
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(30)


def produce_input(broker, messages):
    rng = random.Random(7)
    block = bytes(rng.getrandbits(8) for _ in range(256))
    value = bytearray(block * (SIZE // 256))
    scratch = tempfile.mkdtemp(prefix="exactly-bench-input-")
    try:
        files = []
        for k in range(messages):
            value[:8] = k.to_bytes(8, "little")
            path = os.path.join(scratch, f"m{k}")
            with open(path, "wb") as f:
                f.write(value)
            files.append(path)
        for p in range(PARTITIONS):
            mine = files[p::PARTITIONS]
            if not mine:
                continue
            subprocess.run([os.path.join(BIN, "exactly-produce"), "-b", broker.bootstraps, "-t", "in", "-p", str(p),
                            "--producer-id", f"big-{p}", "--epoch", "1", "-X", "compression.type=lz4",
                            "--timeout-ms", "120000", "--file-per-message"] + mine, check=True)
    finally:
        shutil.rmtree(scratch)


def run_relay(broker, setting, messages, interval_ms, tag, timeout_s=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    binary = os.path.join(BIN, "exactly-relay")
    if os.sep in setting:
        binary = setting
    elif setting.isdigit():
        env["MALLOC_MMAP_THRESHOLD_"] = setting
    elif setting != "binary":
        name, value = setting.split("=", 1)
        env[name] = value
    output = f"out-{tag}"
    broker.topic(output)
    state = tempfile.mkdtemp(prefix="exactly-bench-state-")
    port = free_port()
    relay = subprocess.Popen([binary, "-b", broker.bootstraps, "-i", "in", "-o", output,
                              "--state-dir", state, "-g", f"g-{tag}", "--relay-id", f"r-{tag}",
                              "--checkpoint-interval-ms", str(interval_ms), "--metrics-port", str(port),
                              "--status-interval-ms", "0", "--consumer-X", "queued.max.messages.kbytes=262144"],
                             env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout_s
        t0 = c0 = f0 = None
        while time.time() < deadline:
            try:
                if t0 is None and metric(port, "exactly_records_polled_total") > 0:
                    t0 = time.time()
                    c0, f0 = cpu_and_faults(relay.pid)
                if t0 is not None and metric(port, "exactly_relay_forwarded_messages_total") >= messages:
                    break
            except OSError:
                pass  # the metrics server is not up yet
            if relay.poll() is not None:
                sys.exit(f"exactly-relay exited with {relay.returncode}")
            time.sleep(0.005)
        else:
            sys.exit(f"relay {tag}: not done in {timeout_s} s")
        t1 = time.time()
        c1, f1 = cpu_and_faults(relay.pid)
        rss = peak_rss_mib(relay.pid)
    finally:
        relay.terminate()
        relay.wait(60)
        shutil.rmtree(state)
    mib = messages * SIZE / 2**20
    return mib / (t1 - t0), 1e6 * (c1 - c0) / mib, (f1 - f0) / mib, rss


def run_pipe(broker, messages, tag):
    output = f"out-{tag}"
    broker.topic(output)
    done = subprocess.run([BARE_PIPE, "--brokers", broker.bootstraps, "--input", "in", "--output", output,
                           "--group", f"g-{tag}", "--queue-kbytes", "262144"],
                          check=True, capture_output=True, text=True, timeout=300)
    fields = done.stdout.split()
    got = dict(zip(fields[0::2], fields[1::2]))
    mib = messages * SIZE / 2**20
    return (mib / float(got["seconds"]), 1e6 * float(got["cpu_s"]) / mib, int(got["faults"]) / mib,
            int(got["peak_rss_kib"]) / 1024)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=96, help="8 MiB messages of input (default 96)")
    ap.add_argument("--rounds", type=int, default=3, help="relay runs per setting, interleaved (default 3)")
    ap.add_argument("--interval-ms", type=int, default=100, help="checkpoint interval (default 100)")
    ap.add_argument("settings", nargs="+", help='"pipe", "binary", an mmap threshold in bytes, or NAME=VALUE')
    a = ap.parse_args()
    for s in a.settings:
        if os.sep in s:
            if not os.access(s, os.X_OK):
                ap.error(f"setting '{s}': no executable there")
        elif s not in ("pipe", "binary") and not s.isdigit() and not ("=" in s and s.split("=", 1)[0]):
            ap.error(f"setting '{s}' is neither 'pipe', 'binary', a number of bytes, NAME=VALUE nor a path")
    needed = [os.path.join(BIN, b) for b in ("exactly-broker", "exactly-produce", "exactly-relay")]
    if "pipe" in a.settings:
        needed.append(BARE_PIPE)
    for b in needed:
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} is missing: cmake --build build first")
    broker = Broker()
    try:
        produce_input(broker, a.messages)
        print(f"input: {a.messages} messages of 8 MiB on {PARTITIONS} partitions; checkpoint every "
              f"{a.interval_ms} ms; load {os.getloadavg()[0]:.2f}", flush=True)
        results = {s: [] for s in a.settings}
        w = max(len(s) for s in a.settings)
        n = 0
        for r in range(a.rounds):
            for s in a.settings:
                if s == "pipe":
                    mibs, cpu, faults, rss = run_pipe(broker, a.messages, f"{r}-{n}")
                else:
                    mibs, cpu, faults, rss = run_relay(broker, s, a.messages, a.interval_ms, f"{r}-{n}")
                n += 1
                results[s].append((mibs, cpu, faults, rss))
                print(f"  round {r} {s:>{w}}: {mibs:6.0f} MiB/s  {cpu:6.0f} us CPU/MiB  {faults:6.0f} page faults/MiB  "
                      f"peak RSS {rss:5.0f} MiB ({'pipe' if s == 'pipe' else 'relay'} process)", flush=True)
        for s, rs in results.items():
            print(f"median {s:>{w}}: {statistics.median(r[0] for r in rs):6.0f} MiB/s  "
                  f"{statistics.median(r[1] for r in rs):6.0f} us CPU/MiB  "
                  f"{statistics.median(r[2] for r in rs):6.0f} page faults/MiB  "
                  f"peak RSS {statistics.median(r[3] for r in rs):5.0f} MiB", flush=True)
        if "pipe" in results:
            for s, rs in results.items():
                if s == "pipe":
                    continue
                ratios = [x[0] / p[0] for x, p in zip(rs, results["pipe"])]
                print(f"{s} / pipe, paired by round: median {statistics.median(ratios):.2f} "
                      f"(min {min(ratios):.2f}, max {max(ratios):.2f}; ratio of medians "
                      f"{statistics.median(x[0] for x in rs) / statistics.median(p[0] for p in results['pipe']):.2f})",
                      flush=True)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
