// Writes broker log lines the way Mosquitto does: "<timestamp>: <message>" to the configured destinations.

import { appendFileSync } from 'node:fs';
import { type LogLevel, LogLevel as LevelBits, type Logger } from '../broker/logger.js';
import type { LogOptions } from '../config/config.js';

function levelMask(types: LogOptions['types']): number {
  let mask = 0;
  for (const t of types) {
    if (t === 'all') mask |= 0xff;
    else if (t !== 'none') mask |= LevelBits[t];
  }
  return mask;
}

/** A small strftime for `log_timestamp_format` (the common conversions). */
export function formatTimestamp(format: string | undefined, date: Date): string {
  if (format === undefined) return String(Math.floor(date.getTime() / 1000));
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return format.replace(/%([YmdHMSsTFz%])/g, (_m, c: string) => {
    switch (c) {
      case 'Y':
        return String(date.getFullYear());
      case 'm':
        return pad(date.getMonth() + 1);
      case 'd':
        return pad(date.getDate());
      case 'H':
        return pad(date.getHours());
      case 'M':
        return pad(date.getMinutes());
      case 'S':
        return pad(date.getSeconds());
      case 's':
        return String(Math.floor(date.getTime() / 1000));
      case 'T':
        return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
      case 'F':
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
      case 'z': {
        const off = -date.getTimezoneOffset();
        return `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
      }
      default:
        return '%';
    }
  });
}

export class LogSink implements Logger {
  private mask: number;

  constructor(private options: LogOptions) {
    this.mask = levelMask(options.types);
  }

  reconfigure(options: LogOptions): void {
    this.options = options;
    this.mask = levelMask(options.types);
  }

  enabled(level: LogLevel): boolean {
    return (this.mask & LevelBits[level]) !== 0;
  }

  log(level: LogLevel, message: string): void {
    if ((this.mask & LevelBits[level]) === 0) return;
    const line = this.options.timestamp
      ? `${formatTimestamp(this.options.timestampFormat, new Date())}: ${message}\n`
      : `${message}\n`;
    for (const dest of this.options.dest) {
      try {
        if (dest.kind === 'stderr') process.stderr.write(line);
        else if (dest.kind === 'stdout') process.stdout.write(line);
        else if (dest.kind === 'file' && dest.path !== undefined) appendFileSync(dest.path, line);
      } catch {
        // A log destination that fails must not take the broker down.
      }
    }
  }
}
