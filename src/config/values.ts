// Validators for option values: each returns the typed value or throws OptionValueError with the reason.

import { OptionValueError } from './config-error.js';

export function parseBool(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new OptionValueError(`expected "true" or "false", got "${text}"`);
}

/** Decimal integer within [min, max]; Mosquitto's atoi() would take "10x" as 10, Culex refuses it. */
export function parseInteger(text: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(text)) throw new OptionValueError(`expected an integer, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new OptionValueError(`${text} is out of range (${min}..${max})`);
  }
  return value;
}

export function parseEnum<T extends string>(text: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === text);
  if (found === undefined) {
    throw new OptionValueError(`expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, got "${text}"`);
  }
  return found;
}

/** TCP port of a listener: 1..65535 (0 only with a Unix socket path, checked by the caller). */
export function parsePort(text: string): number {
  return parseInteger(text, 0, 65535);
}

const DURATION_UNITS: Record<string, number> = {
  // Seconds: Mosquitto 2.1 reads "s"; 2.0.11 refuses it (docs/compatibility.md), Culex accepts it.
  s: 1,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  m: 30 * 86400,
  y: 365 * 86400,
};

/** `persistent_client_expiration`: an integer and one of s h d w m y (Mosquitto refuses bare numbers). */
export function parseDuration(text: string): number {
  const match = /^(\d+)([shdwmy])$/.exec(text);
  const unit = match?.[2];
  if (match === null || match[1] === undefined || unit === undefined) {
    throw new OptionValueError(`expected a number followed by s, h, d, w, m or y (e.g. 14d), got "${text}"`);
  }
  return Number(match[1]) * (DURATION_UNITS[unit] ?? 0);
}
