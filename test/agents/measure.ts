/**
 * The agent owner's own measurements of its per-record path, in one process with no I/O (the
 * proof helper's `npm run bench -- --only agent-syslog` owns the official figures; these move
 * less between runs, so a change of a few percent shows):
 *   node <build>/test/agents/measure.js relay [lines]   a syslog relay's frame-parse-encode-batch path
 *   node <build>/test/agents/measure.js framer [lines]  framing alone, 64 KiB reads
 * Each prints CPU seconds per 100k lines over five passes after two warm-up passes.
 * Build first: `npx tsc -p tsconfig.json --outDir <build>` (inside the repository, for node_modules).
 */
import { rfc3164Lines } from '../../bench/lib/syslog-sender.js';
import { DEFAULT_BATCH_LIMITS, Batcher } from '../../agents/batcher.js';
import { RecordEncoder } from '../../agents/encoder.js';
import { relayedRecord, senderFields } from '../../agents/inputs/syslog.js';
import { SyslogFramer } from '../../agents/parse/frames.js';
import { routingKeyCache } from '../../agents/routing-keys.js';
import { SHIPPER_DEFAULTS } from '../../agents/shipper.js';

const [command = 'relay', count = '300000'] = process.argv.slice(2);
const lines = Number(count);
const stream = Buffer.from(rfc3164Lines(lines).join(''));
const reads: Buffer[] = [];
for (let at = 0; at < stream.length; at += 64 * 1024) reads.push(stream.subarray(at, at + 64 * 1024));

/** CPU seconds per 100k lines of `pass`, over five passes after two warm-ups. */
function cpuPer100k(pass: () => void): number {
  pass();
  pass();
  const before = process.cpuUsage();
  for (let i = 0; i < 5; i++) pass();
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1e6 / (5 * lines)) * 1e5;
}

function frameAll(onFrame: (text: string) => void): void {
  const framer = new SyslogFramer(onFrame, 64 * 1024);
  for (const read of reads) framer.push(read);
  framer.end();
}

/** What inputs/syslog.ts and the shipper do per line of one TCP connection, up to the sealed batch. */
function relay(): () => void {
  const encoder = new RecordEncoder({ host: 'relay', app: 'logship', pid: 1 });
  const sender = senderFields('127.0.0.1');
  const routingKey = routingKeyCache();
  // A linger longer than the run: batches seal by size, as in a burst; close() ends the timer.
  const batcher = new Batcher({ ...DEFAULT_BATCH_LIMITS, lingerMs: 3_600_000 }, 'measure:1', (batch) =>
    batcher.recycle(batch),
  );
  let seq = 0;
  return () => {
    frameAll((text) => {
      const record = relayedRecord(text, sender);
      // As the shipper does, with its defaults for what a frame leaves out.
      const key = routingKey(
        record.facility ?? SHIPPER_DEFAULTS.facility,
        record.severity ?? SHIPPER_DEFAULTS.severity,
      );
      batcher.add(key, encoder.encode(record), seq++);
    });
    batcher.close();
  };
}

if (command === 'relay') {
  process.stdout.write(`relay: ${cpuPer100k(relay()).toFixed(3)} CPU s per 100k lines\n`);
} else if (command === 'framer') {
  let frames = 0;
  const seconds = cpuPer100k(() => frameAll(() => frames++));
  process.stdout.write(`framer: ${seconds.toFixed(4)} CPU s per 100k lines (${frames} frames)\n`);
} else {
  process.stderr.write('usage: measure.js relay|framer [lines]\n');
  process.exitCode = 2;
}
