#!/usr/bin/env python3
# Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
#
# Authoring tool for the hand-made golden replay cases in this directory.
# Not run by the build: the generated files are committed, and
# golden_test.cc replays each case/input.jsonl through exactly-replay and
# compares with the committed expectations.
#
# Every input record below is annotated with the decision DESIGN.md §3
# prescribes for it, and WHY (the rule). The expected output, dead letters
# and counters are derived from those annotations only — never from
# running the tool. To change a case: edit it here, run
#     python3 tests/replay/golden/make_golden.py
# and review the diff of the generated files.
#
# Layout written: exactly what exactly-replay writes (recorded_log.h):
# {"topic","partition","offset","ts","headers"(only if any),"key","payload"}.

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000_000


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def jstr(s):
    """A JSON string as exactly-replay writes it (text only; no binary here)."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == '\\':
            out.append('\\\\')
        elif ch == '\b':
            out.append('\\b')
        elif ch == '\f':
            out.append('\\f')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\t':
            out.append('\\t')
        elif c < 0x20:
            out.append('\\u%04X' % c)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def line(r):
    parts = ['"topic":' + jstr(r['topic']), '"partition":%d' % r['partition'], '"offset":%d' % r['offset'],
             '"ts":%d' % r['ts']]
    if r['headers']:
        hs = []
        for name, value in r['headers']:
            hs.append(jstr(name))
            hs.append('null' if value is None else jstr(value))
        parts.append('"headers":[' + ','.join(hs) + ']')
    parts.append('"key":' + ('null' if r['key'] is None else jstr(r['key'])))
    parts.append('"payload":' + ('null' if r['value'] is None else jstr(r['value'])))
    return '{' + ','.join(parts) + '}\n'


def stamp(producer, epoch, seq):
    return [('eo.producer', producer), ('eo.epoch', str(epoch)), ('eo.seq', str(seq))]


def chunk_headers(index, count, whole):
    data = whole.encode()
    return [('eo.chunk', '%d/%d' % (index, count)), ('eo.size', str(len(data))), ('eo.crc', '%08x' % crc32c(data))]


COUNTERS = ['records', 'delivered', 'delivered_chunked', 'duplicate', 'stale', 'malformed', 'corrupt', 'abandoned',
            'abandoned_chunks', 'chunk_duplicate', 'unstamped', 'unstamped_dropped', 'gaps', 'producers_expired',
            'in_progress_messages', 'records_skipped', 'invalid_lines']


class Case:
    def __init__(self, name, args=(), about=''):
        self.name = name
        self.args = list(args)
        self.about = about
        self.records = []
        self.expected = []
        self.dead = []  # (topic, partition, offset, reason, detail or None)
        self.stats = {k: 0 for k in COUNTERS}
        self.malformed_by_reason = {}
        self.offsets = {}

    def rec(self, headers, value, key=None, topic='t', partition=0, ts=None, offset=None):
        """Appends an input record at the partition's next offset."""
        if offset is None:
            offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        r = dict(topic=topic, partition=partition, offset=offset, ts=T0 + offset if ts is None else ts, key=key,
                 value=value, headers=list(headers))
        self.records.append(r)
        self.stats['records'] += 1
        return r

    # --- decisions (each bumps the counters DESIGN.md / engine.h name) ---
    def deliver(self, r, gap=False):
        self.expected.append(r)
        self.stats['delivered'] += 1
        if gap:
            self.stats['gaps'] += 1

    def deliver_unstamped(self, r):
        self.expected.append(r)
        self.stats['delivered'] += 1
        self.stats['unstamped'] += 1

    def deliver_chunked(self, chunk0, completing, value, count, gap=False):
        """Rule 5 + §3 last paragraph: completing chunk's topic/partition/offset/ts,
        chunk 0's key, chunk 0's headers without eo.chunk/eo.size/eo.crc."""
        headers = [h for h in chunk0['headers'] if h[0] not in ('eo.chunk', 'eo.size', 'eo.crc')]
        self.expected.append(dict(topic=completing['topic'], partition=completing['partition'],
                                  offset=completing['offset'], ts=completing['ts'], key=chunk0['key'], value=value,
                                  headers=headers))
        self.stats['delivered'] += 1
        if count >= 2:
            self.stats['delivered_chunked'] += 1
        if gap:
            self.stats['gaps'] += 1

    def duplicate(self, r):
        self.stats['duplicate'] += 1

    def stale(self, r):
        self.stats['stale'] += 1

    def buffered(self, r):
        pass

    def chunk_duplicate(self, r):
        self.stats['chunk_duplicate'] += 1

    def malformed(self, r, reason):
        self.stats['malformed'] += 1
        self.malformed_by_reason[reason] = self.malformed_by_reason.get(reason, 0) + 1
        self.dead.append((r['topic'], r['partition'], r['offset'], 'malformed', reason))

    def corrupt(self, held_and_completing):
        """Rule 5 failure: every chunk of the message is dead-lettered."""
        self.stats['corrupt'] += 1
        for r in held_and_completing:
            self.dead.append((r['topic'], r['partition'], r['offset'], 'corrupt', None))

    def abandoned(self, held):
        self.stats['abandoned'] += 1
        self.stats['abandoned_chunks'] += len(held)
        for r in held:
            self.dead.append((r['topic'], r['partition'], r['offset'], 'abandoned', None))

    def unstamped_dropped(self, r):
        self.stats['unstamped'] += 1
        self.stats['unstamped_dropped'] += 1
        self.dead.append((r['topic'], r['partition'], r['offset'], 'unstamped', None))

    def write(self):
        d = os.path.join(HERE, self.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'input.jsonl'), 'w', encoding='utf-8', newline='') as f:
            for r in self.records:
                f.write(line(r))
        with open(os.path.join(d, 'expected.jsonl'), 'w', encoding='utf-8', newline='') as f:
            for r in self.expected:
                f.write(line(r))
        with open(os.path.join(d, 'args'), 'w') as f:
            for a in self.args:
                f.write(a + '\n')
        with open(os.path.join(d, 'expected-dead-letters.txt'), 'w') as f:
            # One line per dead-lettered record, sorted: topic partition offset reason [detail]
            for t, p, o, reason, detail in sorted(self.dead, key=lambda x: (x[0], x[1], x[2], x[3])):
                f.write('%s %d %d %s%s\n' % (t, p, o, reason, '' if detail is None else ' ' + detail))
        stats = dict(self.stats)
        stats['malformed_by_reason'] = self.malformed_by_reason
        with open(os.path.join(d, 'expected-stats.json'), 'w') as f:
            json.dump(stats, f, indent=1, sort_keys=True)
            f.write('\n')
        with open(os.path.join(d, 'README.md'), 'w') as f:
            f.write('# %s\n\n%s\n' % (self.name, self.about.strip()))


cases = []

# ---------------------------------------------------------------------------
c = Case('01-retries-and-resent-windows', about='''
One producer retrying single records and re-sending a window; a second
producer interleaved. Rule 1/6 delivers the first stamp of an unknown
producer and every stamp above M; rule 3 drops (e, s) = W and (e, s) < M.
''')
r = c.rec(stamp('p1', 0, 0), 'a', key='k0'); c.deliver(r)            # rule 1: p1 unknown
r = c.rec(stamp('p1', 0, 1), 'b', key='k1'); c.deliver(r)            # rule 6: (0,1) > M=(0,0)
r = c.rec(stamp('p1', 0, 1), 'b', key='k1'); c.duplicate(r)          # rule 3: = W (a retry)
r = c.rec(stamp('p1', 0, 2), 'c'); c.deliver(r)                      # rule 6
r = c.rec(stamp('p1', 0, 0), 'a', key='k0'); c.duplicate(r)          # rule 3: < M (late retry)
r = c.rec(stamp('p2', 0, 0) + [('trace', 'x')], 'x'); c.deliver(r)   # rule 1: p2 unknown; other headers kept
r = c.rec(stamp('p1', 0, 1), 'b', key='k1'); c.duplicate(r)          # re-sent window: < M
r = c.rec(stamp('p1', 0, 2), 'c'); c.duplicate(r)                    # re-sent window: = W
r = c.rec(stamp('p1', 0, 3), 'd'); c.deliver(r)                      # window goes on: > M
r = c.rec(stamp('p2', 0, 0) + [('trace', 'x')], 'x'); c.duplicate(r) # p2 retry: = W
r = c.rec(stamp('p1', 0, 3), 'd'); c.duplicate(r)                    # = W
r = c.rec(stamp('p2', 0, 1), None); c.deliver(r)                     # null payload delivered as null
cases.append(c)

# ---------------------------------------------------------------------------
c = Case('02-zombie-epochs-and-restarts', about='''
Epochs fence older producers (rule 2: e < M.epoch is stale, whatever its
sequence); a new epoch may restart at any sequence (rule 6 compares
(epoch, seq) lexicographically).
''')
r = c.rec(stamp('p1', 1, 0), 'e1s0'); c.deliver(r)        # rule 1
r = c.rec(stamp('p1', 1, 1), 'e1s1'); c.deliver(r)        # rule 6
r = c.rec(stamp('p1', 0, 5), 'zombie'); c.stale(r)        # rule 2: 0 < M.epoch 1 (seq 5 > 1 does not matter)
r = c.rec(stamp('p1', 2, 0), 'e2s0'); c.deliver(r)        # rule 6: (2,0) > (1,1): restart at 0
r = c.rec(stamp('p1', 1, 9), 'zombie1'); c.stale(r)       # rule 2: 1 < 2
r = c.rec(stamp('p1', 2, 1), 'e2s1'); c.deliver(r)        # rule 6
r = c.rec(stamp('p1', 2, 0), 'e2s0'); c.duplicate(r)      # rule 3: (2,0) < M=(2,1)
r = c.rec(stamp('p1', 3, 100), 'e3s100'); c.deliver(r)    # rule 6: new epoch at any seq; no gap across epochs
r = c.rec(stamp('p1', 2, 7), 'zombie2'); c.stale(r)       # rule 2
r = c.rec(stamp('p1', 3, 101), 'e3s101'); c.deliver(r)    # rule 6
cases.append(c)

# ---------------------------------------------------------------------------
c = Case('03-gaps', about='''
Sequences must increase, not be contiguous: a gap (s > W.seq + 1 in W's
epoch) is delivered and counted. A new epoch is never a gap.
''')
r = c.rec(stamp('p1', 0, 0), 's0'); c.deliver(r)
r = c.rec(stamp('p1', 0, 5), 's5'); c.deliver(r, gap=True)   # 5 > 0 + 1
r = c.rec(stamp('p1', 0, 6), 's6'); c.deliver(r)
r = c.rec(stamp('p1', 0, 4), 's4'); c.duplicate(r)           # rule 3: (0,4) < M=(0,6): a late record, not a fill
r = c.rec(stamp('p1', 1, 3), 'e1s3'); c.deliver(r)           # new epoch: not a gap
r = c.rec(stamp('p1', 1, 5), 'e1s5'); c.deliver(r, gap=True) # 5 > 3 + 1
r = c.rec(stamp('p2', 0, 7), 'first'); c.deliver(r)          # an unknown producer's first stamp is not a gap
cases.append(c)

# ---------------------------------------------------------------------------
c = Case('04-chunks', about='''
Chunked messages (rules 4-6): out-of-order chunks, a duplicated chunk with
different bytes (first copy wins), interleaving with another producer, a
late retry after delivery, a corrupt message (crc) followed by a correct
re-send of the same stamp, an abandoned message and its late chunk, a
one-chunk message, a chunk whose N disagrees (malformed, P kept), a size
mismatch (corrupt), eo.size/eo.crc verified on an unchunked record, a
null chunk (empty), and keys/headers taken from chunk 0.
''')
A = 'hello world!'   # p1 (0,0): 3 chunks
a2 = c.rec(stamp('p1', 0, 0) + chunk_headers(2, 3, A) + [('part', 'two')], 'rld!', key='k-late'); c.buffered(a2)  # rule 1: starts P
a0 = c.rec(stamp('p1', 0, 0) + chunk_headers(0, 3, A) + [('trace', 'A')], 'hell', key='kA'); c.buffered(a0)       # rule 4
r = c.rec(stamp('p1', 0, 0) + chunk_headers(0, 3, A), 'XXXX', key='kX'); c.chunk_duplicate(r)                    # rule 4: index 0 held: first copy wins
B = 'BBBBbb'         # p2 (0,0): 2 chunks, interleaved
b0 = c.rec(stamp('p2', 0, 0) + chunk_headers(0, 2, B), 'BBBB', key='kB'); c.buffered(b0)
a1 = c.rec(stamp('p1', 0, 0) + chunk_headers(1, 3, A), 'o wo'); c.deliver_chunked(a0, a1, A, 3)                   # rule 5: all 3 held, size and crc match
r = c.rec(stamp('p1', 0, 0) + chunk_headers(1, 3, A), 'o wo'); c.duplicate(r)                                    # rule 3: = W now
b1 = c.rec(stamp('p2', 0, 0) + chunk_headers(1, 2, B), 'bb', key='ignored'); c.deliver_chunked(b0, b1, B, 2)
C = 'corrupt?'       # p1 (0,1): first sent with a wrong crc
bad = [('eo.chunk', None), ('eo.size', str(len(C))), ('eo.crc', '%08x' % (crc32c(C.encode()) ^ 1))]
c0 = c.rec(stamp('p1', 0, 1) + [('eo.chunk', '0/2')] + bad[1:], 'corr'); c.buffered(c0)
c1 = c.rec(stamp('p1', 0, 1) + [('eo.chunk', '1/2')] + bad[1:], 'upt?'); c.corrupt([c0, c1])                    # rule 5: crc fails: W stays (0,0), P cleared
c0b = c.rec(stamp('p1', 0, 1) + chunk_headers(0, 2, C), 'corr', key='kC'); c.buffered(c0b)                       # rule 6: (0,1) > M=W=(0,0): new P
c1b = c.rec(stamp('p1', 0, 1) + chunk_headers(1, 2, C), 'upt?'); c.deliver_chunked(c0b, c1b, C, 2)
D = 'abandon me'     # p1 (0,2): only chunk 0 arrives before (0,3)
d0 = c.rec(stamp('p1', 0, 2) + chunk_headers(0, 2, D), 'aband', key='kD'); c.buffered(d0)
e = c.rec(stamp('p1', 0, 3), 'E'); c.abandoned([d0]); c.deliver(e, gap=True)  # rule 6: P=(0,2) abandoned, E delivered; W was (0,1): a gap
r = c.rec(stamp('p1', 0, 2) + chunk_headers(1, 2, D), 'on me'); c.duplicate(r)                                   # rule 3: (0,2) < M=(0,3): late
F = 'one'
f0 = c.rec(stamp('p1', 0, 4) + chunk_headers(0, 1, F) + [('x', '1')], 'one', key='kF'); c.deliver_chunked(f0, f0, F, 1)  # N = 1 completes at once
G = 'mismatch'       # p3 (0,0)
g0 = c.rec(stamp('p3', 0, 0) + chunk_headers(0, 2, G), 'mism'); c.buffered(g0)
r = c.rec(stamp('p3', 0, 0) + chunk_headers(1, 3, G), 'atch'); c.malformed(r, 'chunk_mismatch')                  # rule 4: N differs: malformed, P kept
g1 = c.rec(stamp('p3', 0, 0) + chunk_headers(1, 2, G), 'atch'); c.deliver_chunked(g0, g1, G, 2)
H = 'size'           # p4 (0,0): eo.size claims one byte more than the chunks hold
hh = [('eo.size', str(len(H) + 1)), ('eo.crc', '%08x' % crc32c(H.encode()))]
h0 = c.rec(stamp('p4', 0, 0) + [('eo.chunk', '0/2')] + hh, 'si'); c.buffered(h0)
h1 = c.rec(stamp('p4', 0, 0) + [('eo.chunk', '1/2')] + hh, 'ze'); c.corrupt([h0, h1])                            # rule 5: length != size
r = c.rec(stamp('p5', 0, 0) + [('eo.size', '2'), ('eo.crc', '%08x' % crc32c(b'ok'))], 'ok'); c.deliver(r)        # §2: verified, headers kept as they are
r = c.rec(stamp('p5', 0, 1) + [('eo.size', '2'), ('eo.crc', '%08x' % crc32c(b'ok'))], 'no'); c.corrupt([r])     # §2: crc fails: not delivered
r = c.rec(stamp('p5', 0, 1), 'no'); c.deliver(r)                                                                 # W still (0,0): (0,1) delivered
I = 'xy'             # p6 (0,0): chunk 0 is null (an empty chunk)
i0 = c.rec(stamp('p6', 0, 0) + chunk_headers(0, 2, I), None, key=None); c.buffered(i0)
i1 = c.rec(stamp('p6', 0, 0) + chunk_headers(1, 2, I), 'xy', key='not-chunk-0'); c.deliver_chunked(i0, i1, I, 2)
cases.append(c)

# ---------------------------------------------------------------------------
def malformed_case(name, args, drop):
    c = Case(name, args=args, about='''
Malformed envelopes (§2): every reason, each never delivered, counted by
reason and dead-lettered with its reason name. Unstamped records (none of
the six eo.* headers; unknown eo.* names do not count) are %s. Valid
stamped records carry unknown headers along untouched.
''' % ('dropped (--unstamped drop) and dead-lettered' if drop else 'passed unchanged (default policy)'))
    r = c.rec([('eo.epoch', '0'), ('eo.seq', '0')], 'v'); c.malformed(r, 'missing_producer')
    r = c.rec([('eo.producer', 'p 1'), ('eo.epoch', '0'), ('eo.seq', '0')], 'v'); c.malformed(r, 'bad_producer')
    r = c.rec([('eo.producer', None), ('eo.epoch', '0'), ('eo.seq', '0')], 'v'); c.malformed(r, 'bad_producer')
    r = c.rec([('eo.producer', 'p1'), ('eo.seq', '0')], 'v'); c.malformed(r, 'missing_epoch')
    r = c.rec(stamp('p1', '01', 0), 'v'); c.malformed(r, 'bad_epoch')
    r = c.rec(stamp('p1', '18446744073709551616', 0), 'v'); c.malformed(r, 'bad_epoch')
    r = c.rec([('eo.producer', 'p1'), ('eo.epoch', '0')], 'v'); c.malformed(r, 'missing_seq')
    r = c.rec(stamp('p1', 0, '-1'), 'v'); c.malformed(r, 'bad_seq')
    r = c.rec(stamp('p1', 0, 0) + [('eo.seq', '0')], 'v'); c.malformed(r, 'repeated_header')
    r = c.rec(stamp('p1', 0, 0) + [('eo.chunk', '2/2'), ('eo.size', '1'), ('eo.crc', '00000000')], 'v'); c.malformed(r, 'bad_chunk')
    r = c.rec(stamp('p1', 0, 0) + [('eo.chunk', '0/2'), ('eo.crc', '00000000')], 'v'); c.malformed(r, 'chunk_without_size')
    r = c.rec(stamp('p1', 0, 0) + [('eo.chunk', '0/2'), ('eo.size', '1')], 'v'); c.malformed(r, 'chunk_without_crc')
    r = c.rec(stamp('p1', 0, 0) + [('eo.size', 'abc')], 'v'); c.malformed(r, 'bad_size')
    r = c.rec(stamp('p1', 0, 0) + [('eo.size', '1025')], 'v'); c.malformed(r, 'bad_size')   # over --max-message-bytes 1024
    r = c.rec(stamp('p1', 0, 0) + [('eo.crc', '1234567')], 'v'); c.malformed(r, 'bad_crc')
    r = c.rec(stamp('p1', 0, 0) + [('eo.chunk', '0/9'), ('eo.size', '1'), ('eo.crc', '00000000')], 'v'); c.malformed(r, 'bad_chunk')  # N over --max-chunks 8
    u1 = c.rec([('content-type', 'text/plain')], 'plain', key='u')
    u2 = c.rec([('eo.trace', 'not one of the six')], 'unknown eo header')
    u3 = c.rec([], None)
    for u in (u1, u2, u3):
        (c.unstamped_dropped if drop else c.deliver_unstamped)(u)
    r = c.rec(stamp('p1', 0, 0) + [('eo.future', 'kept'), ('h', None)], 'stamped'); c.deliver(r)  # rule 1; headers untouched
    r = c.rec(stamp('p1', 0, 1) + [('eo.seq', '1')], 'v'); c.malformed(r, 'repeated_header')      # malformed even when it repeats the same value
    return c

cases.append(malformed_case('05-malformed-and-unstamped', ['--max-message-bytes', '1024', '--max-chunks', '8'], False))
cases.append(malformed_case('06-unstamped-drop', ['--max-message-bytes', '1024', '--max-chunks', '8', '--unstamped', 'drop'], True))

# ---------------------------------------------------------------------------
c = Case('07-topics-and-partitions', about='''
State is kept per (topic, partition, producer): the same producer and
stamps in different partitions or topics are independent; duplicates are
only duplicates within one partition. Records of different partitions are
interleaved in the file; offsets rise per partition only.
''')
for seq in range(3):
    for topic, part in (('a', 0), ('a', 1), ('b', 0)):
        r = c.rec(stamp('p1', 0, seq), '%s%d-%d' % (topic, part, seq), topic=topic, partition=part)
        c.deliver(r)   # rule 1 / 6 in each partition separately
r = c.rec(stamp('p1', 0, 2), 'dup', topic='a', partition=1); c.duplicate(r)
r = c.rec(stamp('p1', 0, 3), 'a0-3', topic='a', partition=0, offset=10); c.deliver(r)   # offsets may skip (compaction, markers)
r = c.rec(stamp('p1', 0, 3), 'b0-3', topic='b', partition=0); c.deliver(r)
r = c.rec(stamp('p1', 0, 3), 'dup', topic='a', partition=0); c.duplicate(r)
X = 'split across'
x0 = c.rec(stamp('p9', 0, 0) + chunk_headers(0, 2, X), 'split ', topic='a', partition=0); c.buffered(x0)
x0b = c.rec(stamp('p9', 0, 0) + chunk_headers(1, 2, X), 'across', topic='a', partition=1); c.buffered(x0b)   # another partition: its own P (chunk 1 only)
x1 = c.rec(stamp('p9', 0, 0) + chunk_headers(1, 2, X), 'across', topic='a', partition=0); c.deliver_chunked(x0, x1, X, 2)
c.stats['in_progress_messages'] = 1   # a[1]'s p9 message never completes
cases.append(c)

# ---------------------------------------------------------------------------
c = Case('08-chunk-span', args=['--max-chunk-span', '5'], about='''
Bound "chunk span" with --max-chunk-span 5: before a record is processed,
any P whose first chunk's offset is more than 5 below the record's offset
is abandoned. At offset 6, P started at 0 (6 - 0 > 5) is abandoned; at
offset 5 it was kept (5 - 0 = 5). The late chunk 1 at offset 7 then
starts a new P of its own (p1 has no W), which the record at offset 13
abandons in turn (13 - 7 > 5), while p3's P started at 8 completes there
(13 - 8 = 5). Rule order: the span check runs before the record itself.
''')
S = 'spanning'
s0 = c.rec(stamp('p1', 0, 0) + chunk_headers(0, 2, S), 'span'); c.buffered(s0)        # offset 0
for i in range(1, 6):                                                                   # offsets 1..5: P kept
    r = c.rec(stamp('p2', 0, i), 'filler%d' % i); c.deliver(r)                          # p2's first stamp (0,1): no gap
r = c.rec(stamp('p2', 0, 6), 'filler6'); c.abandoned([s0]); c.deliver(r)               # offset 6: 6 - 0 > 5
s1 = c.rec(stamp('p1', 0, 0) + chunk_headers(1, 2, S), 'ning'); c.buffered(s1)          # offset 7: p1 has no W: rule 1, a new P
T2 = 'in time'
t0 = c.rec(stamp('p3', 0, 0) + chunk_headers(0, 2, T2), 'in '); c.buffered(t0)          # offset 8
for i in range(7, 11):                                                                  # offsets 9..12: 12 - 7 = 5: kept
    r = c.rec(stamp('p2', 0, i), 'filler%d' % i); c.deliver(r)
t1 = c.rec(stamp('p3', 0, 0) + chunk_headers(1, 2, T2), 'time')                         # offset 13
c.abandoned([s1])                                                                       # 13 - 7 > 5
c.deliver_chunked(t0, t1, T2, 2)                                                        # 13 - 8 = 5: in time
cases.append(c)

# ---------------------------------------------------------------------------
def held(r):
    """What holding chunk r costs against --max-buffer-bytes: its value, and
    for chunk 0 also its key and headers (names and values), which the
    message in progress keeps for the delivered message."""
    n = len((r['value'] or '').encode())
    if not any(h == 'eo.chunk' and v.startswith('0/') for h, v in r['headers']):
        return n
    n += len((r['key'] or '').encode())
    return n + sum(len(h.encode()) + len((v or '').encode()) for h, v in r['headers'])


BOUND = 75
c = Case('09-buffer-bytes', args=['--max-buffer-bytes', str(BOUND)], about='''
Bound "buffer bytes" with --max-buffer-bytes 75: adding a chunk that would
take the bytes held by all P of the partition over 75 abandons P's oldest
first (by first offset) until it fits; a chunk that can never fit abandons
its own message. Held bytes are chunk values plus chunk 0's key and
headers (names and values): here each chunk 0 carries 63 header bytes.
''')
M1 = 'aaaaaaXXXX'
m10 = c.rec(stamp('p1', 0, 0) + chunk_headers(0, 2, M1), 'aaaaaa'); c.buffered(m10)    # holds 6 + 63 = 69
assert held(m10) == 69
M2 = 'bbbbbbYYYY'
m20 = c.rec(stamp('p2', 0, 0) + chunk_headers(0, 2, M2), 'bbbbbb'); c.abandoned([m10]); c.buffered(m20)  # 69 + 69 > 75: oldest (p1's) goes
assert held(m20) == 69 and held(m10) + held(m20) > BOUND
M3 = 'c' * 20
m30 = c.rec(stamp('p3', 0, 0) + chunk_headers(0, 2, M3), 'c' * 13); c.abandoned([m30])  # 13 + 63 = 76 can never fit in 75: its own message
assert held(m30) == 76
m21 = c.rec(stamp('p2', 0, 0) + chunk_headers(1, 2, M2), 'YYYY'); c.deliver_chunked(m20, m21, M2, 2)   # 69 + 4 = 73: fits
assert held(m20) + held(m21) <= BOUND
r = c.rec(stamp('p1', 0, 0) + chunk_headers(1, 2, M1), 'XXXX'); c.buffered(r)           # p1 has no W: a new P, incomplete
c.stats['in_progress_messages'] = 1
cases.append(c)

# ---------------------------------------------------------------------------
HOUR = 3_600_000
c = Case('10-producer-ttl', args=['--producer-ttl', '1h'], about='''
Bound "producer TTL" with --producer-ttl 1h: a producer whose last record
in the partition is more than 1 h older (by record timestamp) than the new
record is treated as unknown, so even an older epoch is delivered (rule 1).
Exactly 1 h is not expired. Timestamps may go backwards (CreateTime).
''')
r = c.rec(stamp('p1', 5, 10), 'start', ts=T0); c.deliver(r)
r = c.rec(stamp('p2', 0, 0), 'other', ts=T0 + HOUR); c.deliver(r)
r = c.rec(stamp('p1', 4, 0), 'zombie in time', ts=T0 + HOUR); c.stale(r)        # exactly 1 h: p1 still known: rule 2
r = c.rec(stamp('p1', 0, 0), 'after ttl', ts=T0 + 2 * HOUR + 1)                 # p1 last seen T0+1h: > 1h ago: unknown
c.deliver(r); c.stats['producers_expired'] += 1
r = c.rec(stamp('p1', 0, 0), 'retry', ts=T0 + 2 * HOUR + 2); c.duplicate(r)
r = c.rec(stamp('p1', 0, 1), 'older ts', ts=T0 + 1); c.deliver(r)               # ts going back: p1 seen at +2h+2, not expired
cases.append(c)

# ---------------------------------------------------------------------------
for c in cases:
    c.write()
print('wrote %d cases' % len(cases))
