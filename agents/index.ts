/** warren's Node API: ship records from an application, and the agent's parts for reuse. */
export { createShipper, applicationName, type AppShipper, type AppShipperOptions } from './api.js';
export {
  Shipper,
  startShipper,
  resolveShipperConfig,
  defaultSpoolDir,
  type ShipperConfig,
  type CloseResult,
} from './shipper.js';
export type { ParsedRecord } from './record.js';
export type { Stats, AgentState } from './stats.js';
export { parseJsonLine, fromJsonObject } from './parse/json.js';
export { parseSyslog } from './parse/syslog.js';
export { default as pinoTransport } from './pino-transport.js';
