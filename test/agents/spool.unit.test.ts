import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../protocol/index.js';
import type { Batch } from '../../agents/batch.js';
import { Batcher, OPEN_MAX_BYTES } from '../../agents/batcher.js';
import { RecordEncoder } from '../../agents/encoder.js';
import { acquireLane, newAgentId } from '../../agents/lane.js';
import { Spool } from '../../agents/spool.js';
import { tempDir } from '../../testkit/temp.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('agents').dir;
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function batch(key: string, seq: number, text = `record ${seq}`): Batch {
  return { key, body: Buffer.from(`{"msg":"${text}"}\n`), count: 1, firstSeq: seq, messageId: `t:${seq}` };
}

function readAll(spool: Spool): { seqs: number[]; last: ReturnType<Spool['readNext']> } {
  const seqs: number[] = [];
  let last: ReturnType<Spool['readNext']>;
  for (let e = spool.readNext(); e !== undefined; e = spool.readNext()) {
    seqs.push(e.batch.firstSeq);
    last = e;
  }
  return { seqs, last };
}

describe('batcher', () => {
  it('batches per routing key and seals on the record bound', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 3, maxBytes: 1 << 20, lingerMs: 1000 }, 'agent', (b) =>
      sealed.push(b),
    );
    const keys = [
      'kern.critical',
      'app.info',
      'kern.critical',
      'app.info',
      'kern.critical',
      'app.info',
      'app.info',
    ];
    keys.forEach((key, seq) => batcher.add(key, `{"msg":"${seq}"}`, seq));
    expect(sealed.map((b) => [b.key, b.count, b.firstSeq, b.messageId])).toEqual([
      ['kern.critical', 3, 0, 'agent:0'],
      ['app.info', 3, 1, 'agent:1'],
    ]);
    expect(batcher.minOpenSeq()).toBe(6);
    batcher.close();
    expect(sealed[2]).toMatchObject({ key: 'app.info', count: 1, firstSeq: 6 });
    expect(sealed[0]!.body.toString()).toBe('{"msg":"0"}\n{"msg":"2"}\n{"msg":"4"}\n');
  });

  it('reuses the buffers of a whole window confirmed at once', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 300, maxBytes: 256 * 1024, lingerMs: 1000 }, 'a', (b) =>
      sealed.push(b),
    );
    const line = `{"msg":"${'x'.repeat(190)}"}`;
    const window = (): Batch[] => {
      sealed.length = 0;
      for (let i = 0; i < 32 * 300; i++) batcher.add('k.info', line, i);
      return [...sealed];
    };
    const first = window();
    expect(first.length).toBe(32);
    for (const batch of first) batcher.recycle(batch);
    const recycled = new Set(first.map((b) => b.slab));
    const second = window();
    expect(second.filter((b) => !recycled.has(b.slab))).toEqual([]);
    batcher.close();
  });

  it('seals on the byte bound before a record would overflow it', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 100, maxBytes: 25, lingerMs: 1000 }, 'a', (b) =>
      sealed.push(b),
    );
    for (let i = 0; i < 5; i++) batcher.add('k.info', `{"msg":"${i}"}`, i);
    batcher.close();
    expect(sealed.map((b) => b.count)).toEqual([2, 2, 1]);
    for (const b of sealed) expect(b.body.length).toBeLessThanOrEqual(25);
  });

  it('counts the byte bound in UTF-8 and never splits a multi-byte record', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 100, maxBytes: 40, lingerMs: 1000 }, 'a', (b) =>
      sealed.push(b),
    );
    // 15 UTF-16 units but 21 UTF-8 bytes with the newline: two records would be 42 bytes.
    const line = '{"msg":"ééééé"}';
    for (let i = 0; i < 3; i++) batcher.add('k.info', line, i);
    batcher.close();
    expect(sealed.map((b) => b.body.toString())).toEqual([`${line}\n`, `${line}\n`, `${line}\n`]);
  });

  it('seals the busiest open batches once all open batches pass OPEN_MAX_BYTES', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 100_000, maxBytes: 1 << 30, lingerMs: 1000 }, 'a', (b) =>
      sealed.push(b),
    );
    const line = `{"msg":"${'x'.repeat(190)}"}`;
    const keys = Array.from({ length: 85 }, (_, i) => `k${i}.info`);
    let seq = 0;
    while (seq < 60_000) for (const key of keys) batcher.add(key, line, seq++);
    // Bounded: what is still open stays near the budget, and messages are about twice the share.
    const openRecords = seq - sealed.reduce((n, b) => n + b.count, 0);
    expect(openRecords * (line.length + 1)).toBeLessThanOrEqual(OPEN_MAX_BYTES + keys.length * 1024);
    const share = OPEN_MAX_BYTES / keys.length / (line.length + 1);
    for (const b of sealed.slice(keys.length)) expect(b.count).toBeGreaterThanOrEqual(share * 0.9);
    batcher.close();
    const all = sealed.flatMap((b) => b.body.toString().trimEnd().split('\n'));
    expect(all).toHaveLength(seq);
  });

  it('reuses the buffer of a confirmed batch for a later one', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 2, maxBytes: 1 << 20, lingerMs: 1000 }, 'a', (b) =>
      sealed.push(b),
    );
    batcher.add('k.info', '{"msg":"a"}', 0);
    batcher.add('k.info', '{"msg":"b"}', 1);
    const first = sealed[0]!;
    expect(first.body.toString()).toBe('{"msg":"a"}\n{"msg":"b"}\n');
    batcher.recycle(first);
    batcher.add('k.info', '{"msg":"c"}', 2);
    batcher.add('k.info', '{"msg":"d"}', 3);
    expect(sealed[1]!.slab).toBe(first.slab);
    expect(sealed[1]!.body.toString()).toBe('{"msg":"c"}\n{"msg":"d"}\n');
    batcher.close();
  });

  it('seals after the linger time', async () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxRecords: 100, maxBytes: 1 << 20, lingerMs: 10 }, 'a', (b) =>
      sealed.push(b),
    );
    batcher.add('k.info', '{"msg":"x"}', 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(sealed).toHaveLength(1);
    batcher.close();
  });

  it('encodes records the collector decodes, with origin and escaped text; ids from the message id', () => {
    const encoder = new RecordEncoder({ host: 'web-01', app: 'api', pid: 7 }, () => 1_763_764_434_123);
    const line = encoder.encode({ msg: 'quote " and \n newline', fields: { disk: 'sda' } });
    // The routing key says facility and severity, the message id the record's id: the body repeats neither.
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['ts', 'host', 'app', 'pid', 'msg', 'fields']);
    const { records, rejected } = decodeMessage({
      routingKey: 'kern.critical',
      content: Buffer.from(line),
      contentType: 'application/json',
      messageId: 'web-01:4f2a:12',
    });
    expect(rejected).toEqual([]);
    expect(records[0]).toEqual({
      id: 'web-01:4f2a:12:0',
      ts: '2025-11-21T22:33:54.123Z',
      facility: 'kern',
      severity: 'critical',
      host: 'web-01',
      app: 'api',
      pid: 7,
      msg: 'quote " and \n newline',
      fields: { disk: 'sda' },
      routing_key: 'kern.critical',
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const parsed = JSON.parse(encoder.encode({ msg: 'x', fields: cyclic })) as {
      fields: unknown;
    };
    expect(parsed.fields).toEqual({ unserializable: expect.stringContaining('circular') as unknown });
    // A BigInt (which plain JSON.stringify refuses) is written as its digits.
    const big = JSON.parse(encoder.encode({ msg: 'x', fields: { n: 2n ** 70n, k: 'v' } })) as {
      fields: unknown;
    };
    expect(big.fields).toEqual({ n: '1180591620717411303424', k: 'v' });
  });
});

describe('spool', () => {
  it('gives batches back oldest first and keeps the delivered position across a restart', () => {
    const d = dir();
    let spool = Spool.open(d, { maxBytes: 1 << 20, segmentBytes: 200 });
    for (let i = 0; i < 10; i++) expect(spool.append(batch(i % 2 === 0 ? 'a.info' : 'b.info', i))).toBe(true);
    spool.flush();
    const first: number[] = [];
    for (let i = 0; i < 4; i++) {
      const e = spool.readNext()!;
      first.push(e.batch.firstSeq);
      spool.commit(e.end);
    }
    expect(first).toEqual([0, 1, 2, 3]);
    // Read but not committed: delivered again after a restart.
    spool.readNext();
    spool.close();
    spool = Spool.open(d, { maxBytes: 1 << 20, segmentBytes: 200 });
    const { seqs, last } = readAll(spool);
    expect(seqs).toEqual([4, 5, 6, 7, 8, 9]);
    spool.commit(last!.end);
    expect(spool.isEmpty()).toBe(true);
    spool.close();
    expect(fs.readdirSync(d).filter((f) => f.startsWith('seg-'))).toEqual([]);
  });

  it("never serves a deleted segment's bytes for a new segment at the same offsets", () => {
    const spool = Spool.open(dir(), { maxBytes: 1 << 20 });
    spool.append(batch('a.info', 1, 'old-1'));
    spool.append(batch('a.info', 2, 'old-2'));
    spool.flush();
    const { last } = readAll(spool);
    spool.commit(last!.end);
    expect(spool.isEmpty()).toBe(true);
    // Same sizes, so the new frames sit at exactly the old offsets.
    spool.append(batch('a.info', 3, 'new-3'));
    spool.append(batch('a.info', 4, 'new-4'));
    spool.flush();
    const bodies: string[] = [];
    for (let e = spool.readNext(); e !== undefined; e = spool.readNext())
      bodies.push(e.batch.body.toString());
    expect(bodies).toEqual(['{"msg":"new-3"}\n', '{"msg":"new-4"}\n']);
    spool.close();
  });

  it('refuses past its size cap, and takes more once delivered batches are deleted', () => {
    const spool = Spool.open(dir(), { maxBytes: 200, segmentBytes: 60 });
    let accepted = 0;
    while (spool.append(batch('a.info', accepted))) accepted++;
    expect(accepted).toBeGreaterThan(1);
    expect(spool.usedBytes).toBeLessThanOrEqual(200);
    const e = spool.readNext()!;
    spool.commit(e.end);
    expect(spool.append(batch('a.info', 99))).toBe(true);
    spool.close();
  });

  it('delivers everything before a torn tail left by a killed writer', () => {
    const d = dir();
    const spool = Spool.open(d, { maxBytes: 1 << 20 });
    for (let i = 0; i < 3; i++) spool.append(batch('a.info', i));
    spool.flush();
    const seg = fs.readdirSync(d).find((f) => f.startsWith('seg-'))!;
    // A frame cut short, as SIGKILL in the middle of a write would leave it.
    fs.appendFileSync(path.join(d, seg), Buffer.from([0, 0, 1, 0, 1, 2, 3]));
    const reopened = Spool.open(d, { maxBytes: 1 << 20 });
    const { seqs } = readAll(reopened);
    expect(seqs).toEqual([0, 1, 2]);
    expect(reopened.corruptFrames).toBe(1);
    expect(reopened.hasUnread()).toBe(false);
    reopened.close();
  });

  it('skips a corrupt frame (bad checksum) and its segment rest, then reads the next segment', () => {
    const d = dir();
    const spool = Spool.open(d, { maxBytes: 1 << 20 });
    spool.append(batch('a.info', 0, 'aaaa'));
    spool.flush();
    spool.close();
    const seg = fs.readdirSync(d).find((f) => f.startsWith('seg-'))!;
    const bytes = fs.readFileSync(path.join(d, seg));
    bytes[bytes.length - 4] = 0x41; // flips a body byte: the crc no longer matches
    fs.writeFileSync(path.join(d, seg), bytes);
    const second = Spool.open(d, { maxBytes: 1 << 20 });
    second.append(batch('a.info', 1));
    second.flush();
    expect(readAll(second).seqs).toEqual([1]);
    expect(second.corruptFrames).toBe(1);
    second.close();
  });

  it('puts prepended batches before unread ones and forgets what was read but in flight', () => {
    const spool = Spool.open(dir(), { maxBytes: 1 << 20, segmentBytes: 100 });
    for (let i = 10; i < 16; i++) spool.append(batch('a.info', i));
    spool.flush();
    // 10 and 11 are read and in flight (uncommitted) when the connection drops.
    const inflight = [spool.readNext()!.batch, spool.readNext()!.batch];
    spool.prepend([batch('a.info', 5), ...inflight, batch('a.info', 12.5)]);
    expect(readAll(spool).seqs).toEqual([5, 10, 11, 12.5, 12, 13, 14, 15]);
    spool.close();
  });

  it('keeps prepended batches and positions across a restart', () => {
    const d = dir();
    const spool = Spool.open(d, { maxBytes: 1 << 20 });
    for (let i = 10; i < 13; i++) spool.append(batch('a.info', i));
    spool.flush();
    const first = spool.readNext()!;
    spool.commit(first.end);
    const inflight = spool.readNext()!.batch;
    spool.prepend([batch('a.info', 1), inflight]);
    spool.close();
    const reopened = Spool.open(d, { maxBytes: 1 << 20 });
    expect(readAll(reopened).seqs).toEqual([1, 11, 12]);
    reopened.close();
  });
});

describe('spool lanes', () => {
  it('gives concurrent shippers separate lanes, a stable agent id, and unique sequence blocks', () => {
    const root = dir();
    const a = acquireLane(root, 'web-01');
    const b = acquireLane(root, 'web-01');
    expect(a.dir).not.toBe(b.dir);
    expect(a.agentId).toMatch(/^web-01:[0-9a-z]{13}$/);
    expect(b.agentId).toMatch(/^web-01:[0-9a-z]{13}$/);
    expect(b.agentId).not.toBe(a.agentId);
    const firstBlock = a.reserveSequence(1000);
    expect(a.reserveSequence(1000)).toBe(firstBlock + 1000);
    const id = a.agentId;
    a.release();
    const again = acquireLane(root, 'web-01');
    expect(again.dir).toBe(a.dir);
    expect(again.agentId).toBe(id);
    expect(again.reserveSequence(1000)).toBe(firstBlock + 2000);
    again.release();
    b.release();
  });

  it('makes agent ids of one host name that do not collide across a fleet', () => {
    // 20 000 ids of 16 random bits would collide with near certainty (birthday bound ~300).
    const ids = new Set(Array.from({ length: 20_000 }, () => newAgentId('web-01')));
    expect(ids.size).toBe(20_000);
  });

  it('replaces a 16-bit agent id an older logship left in a lane, keeping the sequence', () => {
    const root = dir();
    const first = acquireLane(root, 'web-01');
    const block = first.reserveSequence(1000);
    first.release();
    fs.writeFileSync(path.join(first.dir, 'agent-id'), 'web-01:4f2a\n');
    const upgraded = acquireLane(root, 'web-01');
    expect(upgraded.dir).toBe(first.dir);
    expect(upgraded.agentId).toMatch(/^web-01:[0-9a-z]{13}$/);
    expect(fs.readFileSync(path.join(first.dir, 'agent-id'), 'utf8').trim()).toBe(upgraded.agentId);
    expect(upgraded.reserveSequence(1000)).toBe(block + 1000);
    upgraded.release();
  });

  it('takes over the lane of a dead process (a killed agent) so its spool is delivered', () => {
    const root = dir();
    fs.mkdirSync(path.join(root, 'lane-0'), { recursive: true });
    fs.writeFileSync(path.join(root, 'lane-0', 'lock'), '999999999');
    const lane = acquireLane(root, 'h');
    expect(lane.dir).toBe(path.join(root, 'lane-0'));
    lane.release();
  });
});
