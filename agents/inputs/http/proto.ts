import protobuf from 'protobufjs';

/**
 * The protobuf messages the doors read and answer, trimmed to the fields Warren uses, with the
 * official field numbers: OTLP from open-telemetry/opentelemetry-proto (collector/logs/v1,
 * logs/v1, common/v1, resource/v1; Apache-2.0), Loki push from grafana/loki pkg/push/push.proto
 * (AGPL-3.0 project; the message layout only, as every Loki client carries it).
 */
const SCHEMA = `
syntax = "proto3";

package otlp;

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
// The official AnyValue puts its members in "oneof value"; the wire format is the same with each
// member "optional" instead (explicit presence: "" and 0 and false sent are still told from absent),
// and protobufjs then sets a member without its oneof setter, which deletes every other member.
message AnyValue {
  optional string string_value = 1;
  optional bool bool_value = 2;
  optional int64 int_value = 3;
  optional double double_value = 4;
  optional ArrayValue array_value = 5;
  optional KeyValueList kvlist_value = 6;
  optional bytes bytes_value = 7;
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Status { int32 code = 1; string message = 2; }

message PushRequest { repeated StreamAdapter streams = 1; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
message LabelPairAdapter { string name = 1; string value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

export const ExportLogsServiceRequest = root.lookupType('otlp.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = root.lookupType('otlp.ExportLogsServiceResponse');
/** google.rpc.Status, the body of an OTLP error answer. */
export const RpcStatus = root.lookupType('otlp.Status');
export const LokiPushRequest = root.lookupType('otlp.PushRequest');

/** A decoded message as plain JSON-like data: 64-bit numbers as decimal strings, bytes as Buffers. */
export function decodeToObject(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { longs: String, bytes: Buffer, oneofs: true });
}

export function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}
