// Log sink with Mosquitto's levels. The broker emits lines; where they go (stderr, file, …) is the CLI's choice.

export const LogLevel = {
  error: 1,
  warning: 2,
  notice: 4,
  information: 8,
  subscribe: 16,
  unsubscribe: 32,
  websockets: 64,
  debug: 128,
} as const;
export type LogLevel = keyof typeof LogLevel;

export interface Logger {
  /** True when a line of this level would be written: lets callers skip building the line. */
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, message: string): void;
}

export const silentLogger: Logger = {
  enabled: () => false,
  log: () => {},
};
