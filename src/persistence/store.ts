// The persistence contract the stores implement. The broker owns it; it lives in src/ports so that src/persistence
// imports nothing from src/broker (docs/architecture.md).

export type * from '../ports/persistence.js';
