// Writes broker log lines the way Mosquitto does: "<timestamp>: <message>" to the configured destinations.

import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import type { BrokerCore } from '../broker/broker-core.js';
import { LogLevel as LevelBits, type Logger, type LogLevel } from '../broker/logger.js';
import { Message } from '../broker/message.js';
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
function formatTimestamp(format: string | undefined, date: Date): string {
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

/** Letters of Mosquitto's `$SYS/broker/log/<letter>` topics (log_dest topic). */
const TOPIC_LETTER: Record<LogLevel, string> = {
  error: 'E',
  warning: 'W',
  notice: 'N',
  information: 'I',
  subscribe: 'M',
  unsubscribe: 'U',
  websockets: 'WS',
  debug: 'D',
};

/** syslog severities (RFC 5424) of each level. */
const SEVERITY: Record<LogLevel, number> = {
  error: 3,
  warning: 4,
  notice: 5,
  information: 6,
  subscribe: 6,
  unsubscribe: 6,
  websockets: 7,
  debug: 7,
};

export class LogSink implements Logger {
  private mask: number;
  private broker: BrokerCore | undefined;
  private publishing = false;
  private syslog: ChildProcess | undefined;

  /** `early` writes a line before any destination is usable (the failure to open the log file itself). */
  constructor(
    private options: LogOptions,
    private readonly early: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.options = this.usable(options);
    this.mask = levelMask(this.options.types);
  }

  reconfigure(options: LogOptions): void {
    this.options = this.usable(options);
    this.mask = levelMask(this.options.types);
  }

  /**
   * Mosquitto opens the log file once, at start: when it cannot, it says so and logs only errors, to stderr
   * (a missing log volume in a container shows on its console instead of the broker going silent).
   */
  private usable(options: LogOptions): LogOptions {
    const file = options.dest.find((d) => d.kind === 'file');
    if (file?.path === undefined) return options;
    try {
      closeSync(openSync(file.path, 'a'));
      return options;
    } catch {
      this.early(`Error: Unable to open log file ${file.path} for writing.`);
      return { ...options, dest: [{ kind: 'stderr' }], types: new Set(['error']) };
    }
  }

  /** `log_dest topic` needs the broker to publish into. */
  attach(broker: BrokerCore): void {
    this.broker = broker;
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
        else if (dest.kind === 'syslog') this.toSyslog(level, message);
        else if (dest.kind === 'topic') this.toTopic(level, message);
      } catch {
        // A log destination that fails must not take the broker down.
      }
    }
  }
  /** syslog through util-linux `logger`, one long-lived process: each line carries its own priority. */
  private toSyslog(level: LogLevel, message: string): void {
    if (this.syslog === undefined) {
      this.syslog = spawn('logger', ['--prio-prefix', '-t', 'culex'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      this.syslog.on('error', () => {
        process.stderr.write('Error: log_dest syslog needs the "logger" command (util-linux).\n');
      });
      this.syslog.unref();
    }
    const facility = this.options.syslogFacility === undefined ? 3 : 16 + this.options.syslogFacility;
    this.syslog.stdin?.write(`<${facility * 8 + SEVERITY[level]}>${message}\n`);
  }

  /** Publishes the line to `$SYS/broker/log/<letter>` as Mosquitto does; lines logged while routing are not re-published. */
  private toTopic(level: LogLevel, message: string): void {
    const broker = this.broker;
    if (broker === undefined || this.publishing) return;
    this.publishing = true;
    try {
      const payload = Buffer.from(message);
      // The broker's one publish entry (re-entrant: a line logged while a message is routed waits for it).
      broker.publish(
        new Message(`$SYS/broker/log/${TOPIC_LETTER[level]}`, payload, 0, false, undefined, '', 0),
        null,
        'log',
      );
    } finally {
      this.publishing = false;
    }
  }
}
