export * from './api.js';
export * from './cli-json.js';
export * from './feeds.js';
export * from './inventory.js';
export * from './job.js';
export * from './parse.js';
export * from './state.js';
