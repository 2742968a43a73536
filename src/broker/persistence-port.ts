// The persistence port, as the broker sees it: the contract (src/ports/persistence.ts, kept outside src/broker so
// that stores depend on it alone) and the store that keeps nothing, the default.

export type * from '../ports/persistence.js';
export { MemoryStore } from '../ports/persistence.js';
