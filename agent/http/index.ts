export * from './body.js';
export * from './errors.js';
export * from './ndjson.js';
export * from './respond.js';
export * from './router.js';
