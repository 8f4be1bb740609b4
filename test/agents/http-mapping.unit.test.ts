import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { bulkItems, ecsRecord } from '../../agents/inputs/http/elastic.js';
import { nestDotted } from '../../agents/inputs/http/fields.js';
import { lokiRecord, parseLabels } from '../../agents/inputs/http/loki.js';
import {
  facilityOf,
  isoFromNanos,
  isoOfMs,
  severityInLine,
  severityOfOtelNumber,
  severityOfText,
} from '../../agents/inputs/http/mapping.js';
import { fromOtlpJson, fromOtlpProtobuf, otlpRecords } from '../../agents/inputs/http/otlp.js';
import { authorized } from '../../agents/inputs/http/auth.js';
import { doorOf, parseHttpAddress } from '../../agents/inputs/http/receiver.js';
import { parseAgentArgs } from '../../agents/options.js';

describe('the doors’ shared mapping', () => {
  it('turns service names into facilities and level names and numbers into severities', () => {
    expect(facilityOf('@acme/Billing API')).toBe('acme-billing-api');
    expect(facilityOf('  ')).toBeUndefined();
    expect(facilityOf(42)).toBeUndefined();
    expect(['WARN', 'Error', 'fatal', 'information', 'trace', 'crit', 'bogus'].map(severityOfText)).toEqual([
      'warning',
      'error',
      'critical',
      'info',
      'debug',
      'critical',
      undefined,
    ]);
    expect([0, 1, 5, 9, 12, 13, 17, 21, 24, 25].map(severityOfOtelNumber)).toEqual([
      undefined,
      'debug',
      'debug',
      'info',
      'info',
      'warning',
      'error',
      'critical',
      'critical',
      undefined,
    ]);
  });

  it('reads a level the line states, and nothing else', () => {
    expect(severityInLine('ts=1 level=error msg="x"')).toBe('error');
    expect(severityInLine('level="warn" x')).toBe('warning');
    expect(severityInLine('[ERROR] disk')).toBe('error');
    expect(severityInLine('WARN: inode')).toBe('warning');
    expect(severityInLine('an error happened')).toBeUndefined();
    expect(severityInLine('errors: 0')).toBeUndefined();
  });

  it('reads nanosecond times to the millisecond and refuses unit mistakes', () => {
    expect(isoFromNanos('1764810000123456789')).toBe('2025-12-04T01:00:00.123Z');
    expect(isoFromNanos('0')).toBeUndefined();
    expect(isoFromNanos('1764810000')).toBeUndefined();
    expect(isoFromNanos('12ab')).toBeUndefined();
    const ns = (ms: number) => (BigInt(ms) * 1_000_000n).toString();
    expect(isoFromNanos(ns(Date.UTC(9999, 11, 31, 23, 59, 59, 999)))).toBe('9999-12-31T23:59:59.999Z');
    expect(isoFromNanos(ns(Date.UTC(10000, 0, 1)))).toBeUndefined();
    expect(isoFromNanos('9'.repeat(40))).toBeUndefined();
  });

  it('writes millisecond times exactly as toISOString does, with its per-second cache', () => {
    const edges = [
      Date.UTC(1971, 0, 1),
      Date.UTC(2026, 10, 30, 23, 59, 59, 999),
      Date.UTC(2026, 11, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    let seed = 7;
    const random = (): number => (seed = (seed * 48271) % 2147483647);
    const times = [...edges];
    for (const base of edges) for (const d of [0, 1, 9, 10, 99, 100, 999, 1000, -1]) times.push(base + d);
    for (let i = 0; i < 2000; i++)
      times.push(Date.UTC(1971, 0, 1) + (random() % 1000) * 1_000_000 + (random() % 3000));
    for (const ms of times.filter((t) => t >= Date.UTC(1971, 0, 1) && t < Date.UTC(10000, 0, 1)))
      expect(isoOfMs(ms)).toBe(new Date(ms).toISOString());
  });

  it('nests dotted keys unless that would overwrite a value', () => {
    expect(nestDotted({ 'http.status': 500, 'http.method': 'GET', user: 'bob' })).toEqual({
      http: { status: 500, method: 'GET' },
      user: 'bob',
    });
    expect(nestDotted({ a: 1, 'a.b': 2, '.x': 3 })).toEqual({ a: 1, 'a.b': 2, '.x': 3 });
  });

  it('parses Prometheus label sets with escapes, and refuses what is not one', () => {
    expect(parseLabels('{job="api", path="C:\\\\logs", msg="say \\"hi\\""}')).toEqual({
      job: 'api',
      path: 'C:\\logs',
      msg: 'say "hi"',
    });
    expect(parseLabels('{}')).toEqual({});
    expect(() => parseLabels('{job=api}')).toThrow(/expected \{name="value"/);
  });

  it('parses listen addresses and checks credentials', () => {
    expect(parseHttpAddress('4318')).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(parseHttpAddress('0.0.0.0:3100')).toEqual({ host: '0.0.0.0', port: 3100 });
    expect(parseHttpAddress('[::1]:9200')).toEqual({ host: '::1', port: 9200 });
    expect(() => parseHttpAddress('host:99999')).toThrow(/invalid --http address/);
    expect(authorized({}, undefined)).toBe(true);
    expect(authorized({ token: 't' }, 'Bearer t')).toBe(true);
    expect(authorized({ token: 't' }, 'Bearer u')).toBe(false);
    const basic = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
    expect(authorized({ token: 't', basic: { user: 'ann', password: 'pw' } }, basic)).toBe(true);
    expect(authorized({ basic: { user: 'ann', password: 'pw' } }, undefined)).toBe(false);
  });

  it('takes the auth schemes from --http-auth and the secrets from the environment only', () => {
    const auth = (argv: string[], env: NodeJS.ProcessEnv) =>
      parseAgentArgs(['--http', '4318', ...argv], env).http?.auth;
    const both = { WARREN_HTTP_TOKEN: 'tok', WARREN_HTTP_BASIC: 'ann:pw' };
    // No flag: every secret set is required (either accepted); none set: open.
    expect(auth([], both)).toEqual({ token: 'tok', basic: { user: 'ann', password: 'pw' } });
    expect(auth([], {})).toEqual({ token: undefined, basic: undefined });
    // The flag narrows to the schemes it names.
    expect(auth(['--http-auth', 'basic'], both)).toEqual({
      token: undefined,
      basic: { user: 'ann', password: 'pw' },
    });
    expect(auth(['--http-auth', 'Bearer'], both)).toEqual({ token: 'tok', basic: undefined });
    expect(auth(['--http-auth', 'none'], {})).toEqual({ open: true });
    // A named scheme without its secret is a usage error, never an open receiver.
    const usage = (argv: string[], env: NodeJS.ProcessEnv) => {
      try {
        parseAgentArgs(argv, env);
      } catch (err) {
        return { code: (err as { code?: string }).code, message: (err as Error).message };
      }
      return undefined;
    };
    expect(usage(['--http', '4318', '--http-auth', 'bearer'], { WARREN_HTTP_BASIC: 'a:b' })).toEqual({
      code: 'WARREN_BAD_USAGE',
      message: '--http-auth bearer needs WARREN_HTTP_TOKEN',
    });
    expect(usage(['--http', '4318', '--http-auth', 'bearer,basic'], { WARREN_HTTP_TOKEN: 't' })).toEqual({
      code: 'WARREN_BAD_USAGE',
      message: '--http-auth basic needs WARREN_HTTP_BASIC',
    });
    expect(usage(['--http', '4318', '--http-auth', 'none'], { WARREN_HTTP_TOKEN: 't' })?.message).toBe(
      '--http-auth none, but WARREN_HTTP_TOKEN is set',
    );
    expect(usage(['--http', '4318', '--http-auth', 'digest'], {})?.message).toBe(
      "invalid --http-auth 'digest'",
    );
    expect(usage(['--http', '4318'], { WARREN_HTTP_BASIC: 'nocolon' })?.message).toBe(
      'WARREN_HTTP_BASIC must be user:password',
    );
    // The receiver's flags without the receiver are a mistake, not ignored.
    expect(usage(['--http-auth', 'bearer'], { WARREN_HTTP_TOKEN: 't' })?.message).toBe(
      '--http-auth applies to the HTTP receiver, which is off',
    );
    expect(usage(['--http-max-body', '1m'], {})?.message).toBe(
      '--http-max-body applies to the HTTP receiver, which is off',
    );
    expect(parseAgentArgs(['--http', '4318'], {}).http?.maxBodyBytes).toBe(16 * 1024 * 1024);
    expect(parseAgentArgs(['--http', '4318', '--http-max-body', '1m'], {}).http?.maxBodyBytes).toBe(
      1024 * 1024,
    );
  });

  it('counts a request no door answered under the door of its URL', () => {
    expect(doorOf('/v1/logs')).toBe('otlp');
    expect(doorOf('/loki/api/v1/push?x=1')).toBe('loki');
    expect(doorOf('/logs-app/_bulk')).toBe('elasticsearch');
    expect(doorOf('/metrics')).toBe('metrics');
  });
});

describe('each door’s records', () => {
  it('OTLP: a kvlist body gives msg and fields; oversized attributes are a partial success', () => {
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  observedTimeUnixNano: '1764810000000000000',
                  severityText: 'Warning',
                  body: {
                    kvlistValue: {
                      values: [
                        { key: 'msg', value: { stringValue: 'slow' } },
                        { key: 'ms', value: { intValue: '900' } },
                        { key: 'big', value: { intValue: '9007199254740993' } },
                      ],
                    },
                  },
                },
                {
                  body: { stringValue: 'huge' },
                  attributes: [{ key: 'blob', value: { stringValue: 'x'.repeat(300) } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const result = otlpRecords(fromOtlpJson(request), 200);
    expect(result.records).toEqual([
      {
        msg: 'slow',
        relayed: true,
        facility: 'api',
        app: 'api',
        severity: 'warning',
        ts: '2025-12-04T01:00:00.000Z',
        fields: { ms: 900, big: '9007199254740993' },
      },
    ]);
    expect(result.rejected).toBe(1);
    expect(result.reason).toContain('over 200 bytes');
  });

  it('OTLP protobuf: every AnyValue kind, defaults sent on the wire included, as the official oneof layout encodes them', () => {
    // AnyValue as opentelemetry-proto declares it (with its oneof), to encode what SDKs send.
    const official = protobuf
      .parse(
        `syntax = "proto3";
       message Req { repeated RL resource_logs = 1; }
       message RL { Res resource = 1; repeated SL scope_logs = 2; }
       message Res { repeated KV attributes = 1; }
       message SL { repeated LR log_records = 2; }
       message LR { fixed64 time_unix_nano = 1; int32 severity_number = 2; AnyValue body = 5;
                    repeated KV attributes = 6; bytes trace_id = 9; bytes span_id = 10; }
       message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
         double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
       message ArrayValue { repeated AnyValue values = 1; }
       message KeyValueList { repeated KV values = 1; }
       message KV { string key = 1; AnyValue value = 2; }`,
        { keepCase: true },
      )
      .root.lookupType('Req');
    const bytes = official
      .encode(
        official.fromObject({
          resource_logs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { string_value: 'Pay API' } }] },
              scope_logs: [
                {
                  log_records: [
                    {
                      time_unix_nano: '1764810000123456789',
                      severity_number: 21,
                      body: {
                        kvlist_value: {
                          values: [
                            { key: 'message', value: { string_value: 'declined' } },
                            {
                              key: 'codes',
                              value: { array_value: { values: [{ int_value: 51 }, { string_value: 'x' }] } },
                            },
                          ],
                        },
                      },
                      attributes: [
                        { key: 'empty', value: { string_value: '' } },
                        { key: 'zero', value: { int_value: 0 } },
                        { key: 'no', value: { bool_value: false } },
                        { key: 'half', value: { double_value: 0.5 } },
                        { key: 'raw', value: { bytes_value: Buffer.from('hi') } },
                        { key: 'huge', value: { int_value: '9223372036854775807' } },
                        { key: 'unset', value: {} },
                      ],
                      trace_id: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
                      span_id: Buffer.alloc(8),
                    },
                  ],
                },
              ],
            },
          ],
        }),
      )
      .finish();
    const [record] = otlpRecords(fromOtlpProtobuf(bytes), 65536).records;
    expect(record).toEqual({
      msg: 'declined',
      relayed: true,
      facility: 'pay-api',
      app: 'Pay API',
      severity: 'critical',
      ts: '2025-12-04T01:00:00.123Z',
      fields: {
        codes: [51, 'x'],
        empty: '',
        zero: 0,
        no: false,
        half: 0.5,
        raw: 'aGk=',
        huge: '9223372036854775807',
        unset: undefined,
        trace_id: '0102030405060708090a0b0c0d0e0f10',
      },
    });
  });

  it('OTLP: resource attributes reach every record of the resource, and one record’s never reaches another', () => {
    const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const resources = fromOtlpJson({
      resourceLogs: [
        {
          resource: { attributes: [kv('service.name', 'shop'), kv('deployment.environment', 'prod')] },
          scopeLogs: [
            {
              scope: { name: 'lib' },
              logRecords: [
                // Seconds sent as nanoseconds: not a time, so the observed time is taken.
                {
                  timeUnixNano: '1764810000',
                  observedTimeUnixNano: '1764810000123000000',
                  body: { stringValue: 'a' },
                  attributes: [kv('deployment.region', 'eu'), kv('otel.scope', 'mine')],
                },
                { timeUnixNano: '1764810001000000000', body: { stringValue: 'b' } },
              ],
            },
          ],
        },
      ],
    });
    const [a, b] = otlpRecords(resources, 65536).records;
    expect(a?.ts).toBe('2025-12-04T01:00:00.123Z');
    expect(a?.fields).toEqual({
      deployment: { environment: 'prod', region: 'eu' },
      // otel.scope is the scope's name, whatever an attribute of that name said.
      otel: { scope: 'lib' },
    });
    expect(b?.ts).toBe('2025-12-04T01:00:01.000Z');
    expect(b?.fields).toEqual({ deployment: { environment: 'prod' }, otel: { scope: 'lib' } });
    // Mapping the same request again gives the same records (nothing shared was written to).
    expect(otlpRecords(resources, 65536).records[1]?.fields).toEqual(b?.fields);
  });

  it('Loki: the first service label names the facility; the level label beats the line', () => {
    const record = lokiRecord(
      { job: 'varlogs', app: 'nginx', level: 'error', env: 'prod' },
      { nanos: 1_764_810_000_000_000_000n, line: 'INFO: not this', metadata: { 'trace.id': 'x' } },
      1000,
    );
    expect(record).toMatchObject({
      facility: 'nginx',
      app: 'nginx',
      severity: 'error',
      ts: '2025-12-04T01:00:00.000Z',
      msg: 'INFO: not this',
      fields: { job: 'varlogs', app: 'nginx', env: 'prod', trace: { id: 'x' } },
    });
  });

  it('Elasticsearch: ECS fields mapped, actions answered per item, a broken action line refuses the request', () => {
    expect(
      ecsRecord(
        { '@timestamp': '2026-11-30T12:00:00Z', message: 'm', log: { level: 'notice', logger: 'x' } },
        'i',
        1000,
      ),
    ).toEqual({
      msg: 'm',
      relayed: true,
      ts: '2026-11-30T12:00:00.000Z',
      severity: 'notice',
      fields: { log: { logger: 'x' }, index: 'i' },
    });
    const items = bulkItems(
      '{"create":{"_id":"a"}}\n{"message":"x"}\n{"update":{"_id":"b"}}\n{"doc":{}}\n',
      'logs',
      1000,
    );
    expect(items.map((i) => [i.action, i.id, 'msg' in i.result ? 'record' : i.result.status])).toEqual([
      ['create', 'a', 'record'],
      ['update', 'b', 400],
    ]);
    expect(() => bulkItems('{"index":{}}\n{"message":"x"}\nnot json\n', undefined, 1000)).toThrow(
      /line 3 is not a JSON action/,
    );
  });
});
