export * from './agent-client.js';
export * from './cluster.js';
export * from './errors.js';
export * from './rollout.js';
