export * from './codes.js';
export * from './rpm-error.js';
