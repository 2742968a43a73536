// The default store, keeping nothing: defined with the persistence contract (src/ports/persistence.ts).

export { MemoryStore } from '../ports/persistence.js';
