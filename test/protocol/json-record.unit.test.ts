import { describe, expect, it } from 'vitest';
import { fromJsonObject } from '../../agents/parse/json.js';
import {
  CONTENT_TYPE_JSON,
  decodeMessage,
  readGeneral,
  readJsonRecord,
  readsPlainly,
  type JsonRecordParts,
} from '../../protocol/index.js';

const T = '2026-11-21T22:33:54.123Z';
const MS = Date.parse(T);

// One line per dialect: what the logger writes → what Warren reads of it.
const DIALECTS: [string, Record<string, unknown>, JsonRecordParts][] = [
  [
    'Warren',
    {
      id: 'h:1:7',
      ts: T,
      facility: 'kern',
      severity: 'crit',
      host: 'h',
      app: 'a',
      pid: 7,
      msg: 'm',
      fields: { k: 1 },
    },
    {
      id: 'h:1:7',
      ts: T,
      facility: 'kern',
      severity: 'critical',
      host: 'h',
      app: 'a',
      pid: 7,
      msg: 'm',
      fields: { k: 1 },
    },
  ],
  [
    'pino',
    { level: 40, time: MS, pid: 12, hostname: 'h', name: 'svc', msg: 'm', reqId: 'r1' },
    { severity: 'warning', ts: T, pid: 12, host: 'h', app: 'svc', msg: 'm', fields: { reqId: 'r1' } },
  ],
  [
    'bunyan',
    { name: 'svc', hostname: 'h', pid: 12, level: 50, msg: 'm', time: T, v: 0 },
    { app: 'svc', host: 'h', pid: 12, severity: 'error', msg: 'm', ts: T },
  ],
  [
    'winston',
    { level: 'warn', message: 'm', timestamp: T, service: 'svc' },
    { severity: 'warning', msg: 'm', ts: T, fields: { service: 'svc' } },
  ],
  ['logrus', { level: 'warning', msg: 'm', time: T }, { severity: 'warning', msg: 'm', ts: T }],
  [
    'zap',
    { level: 'error', ts: MS / 1000, caller: 'main.go:12', msg: 'm' },
    { severity: 'error', ts: T, msg: 'm', fields: { caller: 'main.go:12' } },
  ],
  [
    'ECS',
    {
      '@timestamp': T,
      'log.level': 'error',
      message: 'm',
      host: { name: 'h' },
      service: { name: 'svc' },
      process: { pid: 12 },
      'ecs.version': '8.0.0',
    },
    {
      ts: T,
      severity: 'error',
      msg: 'm',
      host: 'h',
      app: 'svc',
      pid: 12,
      fields: { 'ecs.version': '8.0.0' },
    },
  ],
  [
    'python-json-logger',
    { levelname: 'CRITICAL', name: 'app.db', message: 'm', asctime: '2026-11-21 22:33:54,123' },
    { severity: 'critical', app: 'app.db', msg: 'm', fields: { asctime: '2026-11-21 22:33:54,123' } },
  ],
  [
    'GCP',
    { severity: 'NOTICE', message: 'm', timestamp: T, 'logging.googleapis.com/trace': 't' },
    { severity: 'notice', msg: 'm', ts: T, fields: { 'logging.googleapis.com/trace': 't' } },
  ],
  [
    'Docker json-file',
    { log: 'm\n', stream: 'stderr', time: T },
    { msg: 'm', ts: T, fields: { stream: 'stderr' } },
  ],
  [
    'unknown level and keys',
    { level: 'verbose', msg: 'm', status: 500, user: 'bob', fields: 'text' },
    { msg: 'm', fields: { level: 'verbose', status: 500, user: 'bob', fields: 'text' } },
  ],
];

describe('one JSON record reader for every dialect', () => {
  it.each(DIALECTS)('%s', (_name, line, expected) => {
    expect(readJsonRecord(line)).toEqual(expected);
  });

  it('the agent (a JSON log line) and the collector (a JSON body) read the same object alike', () => {
    for (const [name, line] of DIALECTS) {
      const agent = fromJsonObject(line, JSON.stringify(line));
      const [stored] = decodeMessage(
        { routingKey: 'x', content: Buffer.from(JSON.stringify(line)), contentType: CONTENT_TYPE_JSON },
        new Date(MS + 60_000),
      ).records;
      const parts = readJsonRecord(line);
      expect(stored, name).toBeDefined();
      expect({ msg: stored?.msg, host: stored?.host, app: stored?.app, pid: stored?.pid }, name).toEqual({
        msg: agent.msg,
        host: agent.host,
        app: agent.app,
        pid: agent.pid,
      });
      expect(stored?.ts, name).toBe(agent.ts ?? new Date(MS + 60_000).toISOString());
      // The agent stamps its own ids, so an object's id is one of its fields there.
      expect(stored?.fields, name).toEqual(parts.fields);
      expect(agent.fields, name).toEqual(
        parts.id === undefined ? parts.fields : { ...parts.fields, id: parts.id },
      );
    }
  });
});

describe('the one-pass read of plain-keyed objects', () => {
  // What logship writes for a syslog line: every record of issue 15's workload.
  const shipped = { ts: T, host: 'web-3', app: 'sshd', pid: 1023, msg: 'm', fields: { sender: '10.0.0.9' } };

  it("takes Warren's own records, whose host is text", () => {
    expect(readsPlainly(shipped)).toBe(true);
    expect(readsPlainly({ ...shipped, host: '' })).toBe(true);
  });

  it('leaves ECS objects, dotted keys, Docker logs and foreign keys to the general read', () => {
    expect(readsPlainly({ ...shipped, host: { name: 'web-3' } })).toBe(false);
    expect(readsPlainly({ ...shipped, 'host.name': 'web-3' })).toBe(false);
    expect(readsPlainly({ log: 'm\n', time: T })).toBe(false);
    expect(readsPlainly({ ...shipped, extra: 1 })).toBe(false);
  });

  it('reads every object it takes as the general read does', () => {
    const plain: Record<string, unknown>[] = [
      shipped,
      { ...shipped, host: '' },
      { ...shipped, hostname: 'other' },
      { ...shipped, host: '', hostname: 'other' },
      { ...shipped, id: 'p:1', severity: 'crit', facility: 'KERN' },
      { ...shipped, level: 30, time: MS, name: 'pino-app', v: 1 },
      { ...shipped, level: 'verbose', severity: 'nope', msg: 7 },
      { ...shipped, fields: {}, message: 'both', pid: '12' },
      { host: 'h', msg: 'm', facility: 'nofacility', ts: 'not a time', id: '' },
      { ...shipped, host: 42, hostname: 'other' },
      { ...shipped, host: null },
      { ...shipped, host: ['a', 'b'] },
    ];
    for (const obj of plain) {
      expect(readsPlainly(obj), JSON.stringify(obj)).toBe(true);
      expect(readJsonRecord(obj), JSON.stringify(obj)).toEqual(readGeneral(obj));
    }
  });
});
