/** Warren's contract in code (CONTRACT.md): imported by the agents, the collector and the dashboard alike. */
export * from './errors.js';
export * from './severity.js';
export * from './routing-key.js';
export * from './pattern.js';
export * from './record.js';
export * from './delivery.js';
export * from './duration.js';
export * from './config.js';
export * from './backoff.js';
export * from './topology.js';
export * from './broker.js';
export * from './files.js';
export * from './json.js';
export * from './timestamp.js';
export * from './whole-number.js';
export * from './search.js';
export * from './json-record.js';
