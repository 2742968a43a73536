// `culex-passwd`: a drop-in for `mosquitto_passwd` (same flags, messages and exit codes) managing password files.

import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { DEFAULT_ITERATIONS, type HashKind, hashPassword } from '../auth/password-hash.js';

const MAX_FIELD_CHARS = 65535;

const USAGE = `culex-passwd is a tool for managing password files for mosquitto and Culex.

Usage: culex-passwd [-H argon2id | -H sha512-pbkdf2 | -H sha512] [-c | -D] passwordfile username
       culex-passwd [-H argon2id | -H sha512-pbkdf2 | -H sha512] [-c] -b passwordfile username password
       culex-passwd -U passwordfile
 -b : run in batch mode to allow passing passwords on the command line.
 -c : create a new password file. This will overwrite existing files.
 -D : delete the username rather than adding/updating its password.
 -H : specify the hashing algorithm. Defaults to sha512-pbkdf2, which Mosquitto 2.0 and 2.1 both read.
      argon2id is Mosquitto 2.1's default (2.0 cannot read it).
      Mosquitto 1.6 and earlier defaulted to sha512.
 -I : number of PBKDF2 iterations (default ${DEFAULT_ITERATIONS}).
 -U : update a plain text password file to use hashed passwords.

See https://mosquitto.org/ for more information.

`;

type Mode = 'create' | 'delete' | 'upgrade' | 'update';

interface Command {
  readonly mode: Mode;
  readonly file: string;
  readonly username: string;
  /** Present in batch mode; otherwise the password is prompted for. */
  readonly password: string | undefined;
  readonly kind: HashKind;
  readonly iterations: number;
}

/** A failure to report: message for stderr (or stdout for usage) and the process exit code. */
class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
    readonly toStdout = false,
  ) {
    super(message);
  }
}

const fail = (message: string, exitCode = 1): never => {
  throw new CliFailure(message, exitCode);
};

/** C atoi(): leading optional sign and digits, anything else reads as 0. */
function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

/** Parse argv exactly in mosquitto_passwd's order of checks so that errors come out the same. */
export function parseArgs(argv: readonly string[]): Command {
  let kind: HashKind = 'sha512-pbkdf2';
  let iterations = DEFAULT_ITERATIONS;
  let batch = false;
  let create = false;
  let del = false;
  let upgrade = false;
  if (argv.length === 0) throw new CliFailure(USAGE, 1, true);

  let idx = 0;
  for (; idx < argv.length; idx++) {
    const arg = argv[idx];
    if (arg === '-H') {
      const value = argv[++idx];
      if (value === undefined) fail('Error: -H argument given but not enough other arguments.');
      // argon2id as mosquitto_passwd 2.1 accepts it; Culex keeps 2.0's default (docs/compatibility.md).
      if (value === 'sha512' || value === 'sha512-pbkdf2' || value === 'argon2id') kind = value;
      else fail(`Error: Unknown hash type '${value}'`);
    } else if (arg === '-I') {
      const value = argv[++idx];
      if (value === undefined) fail('Error: -I argument given but not enough other arguments.');
      iterations = atoi(value as string);
      if (iterations < 1) fail('Error: Number of iterations must be > 0.');
    } else if (arg === '-b') batch = true;
    else if (arg === '-c') create = true;
    else if (arg === '-D') del = true;
    else if (arg === '-U') upgrade = true;
    else break;
  }

  if (create && del) fail('Error: -c and -D cannot be used together.');
  if (create && upgrade) fail('Error: -c and -U cannot be used together.');
  if (del && upgrade) fail('Error: -D and -U cannot be used together.');
  if (del && batch) fail('Error: -b and -D cannot be used together.');

  const rest = argv.slice(idx);
  const positional = (
    file: string | undefined,
    username: string | undefined,
    password: string | undefined,
    mode: Mode,
  ): Command => ({
    mode,
    file: file ?? '',
    username: username ?? '',
    password,
    kind,
    iterations,
  });
  let cmd: Command;
  if (create) {
    if (batch && rest.length < 3)
      fail('Error: -c argument given but password file, username, or password missing.');
    if (!batch && rest.length < 2) fail('Error: -c argument given but password file or username missing.');
    cmd = positional(rest[0], rest[1], batch ? rest[2] : undefined, 'create');
  } else if (del) {
    if (rest.length < 2) fail('Error: -D argument given but password file or username missing.');
    cmd = positional(rest[0], rest[1], undefined, 'delete');
  } else if (upgrade) {
    if (rest.length !== 1) fail('Error: -U argument given but password file missing.');
    cmd = positional(rest[0], undefined, undefined, 'upgrade');
  } else if ((batch && rest.length === 3) || (!batch && rest.length === 2)) {
    cmd = positional(rest[0], rest[1], batch ? rest[2] : undefined, 'update');
  } else {
    throw new CliFailure(USAGE, 1, true);
  }

  checkUsername(cmd.username);
  if (cmd.password !== undefined && cmd.password.length > MAX_FIELD_CHARS) {
    fail('Error: Password must be less than 65536 characters long.');
  }
  return cmd;
}

function checkUsername(username: string): void {
  if (username.length > MAX_FIELD_CHARS) fail('Error: Username must be less than 65536 characters long.');
  // iscntrl(): C0 controls and DEL.
  if ([...username].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    fail('Error: Username must not contain control characters.');
  if (username.includes(':')) fail("Error: Username must not contain the ':' character.");
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
};

/** strerror()-style text for a Node fs error. */
function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return ERRNO_TEXT[code] ?? (err as Error).message;
}

/** mosquitto_passwd reports the resolved path when the file exists. */
function displayPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

// ---------------------------------------------------------------------------------------------
// Password prompting

/** Reads lines from stdin: raw and unechoed on a terminal, plain lines when piped (as mosquitto_passwd). */
class LineSource {
  #buffer = '';
  #ended = false;
  #waiter: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer += chunk.toString('utf8');
    this.#wake();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };

  constructor() {
    process.stdin.on('data', this.#onData);
    process.stdin.on('end', this.#onEnd);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** Next line without its terminator; '' at end of input. */
  async readLine(): Promise<string> {
    const tty = process.stdin.isTTY === true;
    if (tty) process.stdin.setRawMode(true);
    process.stdin.resume();
    try {
      for (;;) {
        const line = tty ? this.#takeTerminalLine() : this.#takePipedLine();
        if (line !== undefined) return line;
        if (this.#ended) return '';
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    } finally {
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }

  #takePipedLine(): string | undefined {
    const nl = this.#buffer.indexOf('\n');
    if (nl === -1) {
      if (!this.#ended) return undefined;
      const last = this.#buffer;
      this.#buffer = '';
      return last.replace(/\r$/, '');
    }
    const line = this.#buffer.slice(0, nl);
    this.#buffer = this.#buffer.slice(nl + 1);
    return line.replace(/\r$/, '');
  }

  /** Interpret raw keystrokes: Enter ends, Backspace edits, Ctrl-D on an empty line is EOF, Ctrl-C quits. */
  #takeTerminalLine(): string | undefined {
    let line = '';
    for (let i = 0; i < this.#buffer.length; i++) {
      const ch = this.#buffer[i] as string;
      if (ch === '\r' || ch === '\n') {
        this.#buffer = this.#buffer.slice(i + 1);
        return line;
      }
      if (ch === '\u0003') {
        // mosquitto_passwd's SIGINT handler restores the terminal and exits with status 0.
        process.stdin.setRawMode(false);
        process.stdout.write('\n');
        process.exit(0);
      }
      if (ch === '\u0004' && line.length === 0) {
        this.#buffer = this.#buffer.slice(i + 1);
        return '';
      }
      if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
      else line += ch;
    }
    return undefined;
  }

  close(): void {
    process.stdin.off('data', this.#onData);
    process.stdin.off('end', this.#onEnd);
    process.stdin.pause();
  }
}

/** Prompt twice without echo; the same messages and exit codes as mosquitto_passwd's get_password(). */
async function promptPassword(): Promise<string> {
  const source = new LineSource();
  try {
    process.stdout.write('Password: ');
    const first = await source.readLine();
    process.stdout.write('\n');
    if (first.length === 0) fail('Error: Empty password.');
    process.stdout.write('Reenter password: ');
    const second = await source.readLine();
    process.stdout.write('\n');
    if (second.length === 0) fail('Error: Empty password.');
    if (first !== second) fail('Error: Passwords do not match.', 2);
    if (first.length > MAX_FIELD_CHARS) fail('Error: Password must be less than 65536 characters long.');
    return first;
  } finally {
    source.close();
  }
}

// ---------------------------------------------------------------------------------------------
// File operations

interface Entry {
  readonly username: string;
  readonly password: string;
  /** The original line, rewritten verbatim when the entry is untouched. */
  readonly line: string;
}

/** The tool is stricter than the broker: every line must be `user:password` (no blanks, no comments). */
function parseEntries(text: string): Entry[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, index) => {
    // strtok(':') semantics: empty fields collapse.
    const tokens = line.split(':').filter((t) => t.length > 0);
    const username = (tokens[0] ?? '').trim();
    const password = (tokens[1] ?? '').trim();
    if (username.length === 0 || password.length === 0)
      fail(`Error: Corrupt password file at line ${index + 1}.`);
    return { username, password, line };
  });
}

async function entryLine(
  cmd: Command,
  username: string,
  password: string,
  iterations: number,
): Promise<string> {
  return `${username}:${await hashPassword(password, cmd.kind, iterations)}`;
}

function readExisting(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`Error: Unable to open password file ${displayPath(file)}. ${errnoText(err)}.`);
  }
}

function writeAll(file: string, lines: readonly string[]): void {
  // Rewriting in place keeps the file's owner and permissions, as mosquitto_passwd does.
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

async function run(cmd: Command): Promise<void> {
  if (cmd.mode === 'create') {
    const password = cmd.password ?? (await promptPassword());
    const line = await entryLine(cmd, cmd.username, password, cmd.iterations);
    try {
      writeFileSync(cmd.file, `${line}\n`);
    } catch (err) {
      fail(`Error: Unable to open file ${displayPath(cmd.file)} for writing. ${errnoText(err)}.`);
    }
    return;
  }

  const text = readExisting(cmd.file);
  if (cmd.mode === 'delete') {
    const entries = parseEntries(text);
    const kept = entries.filter((e) => e.username !== cmd.username);
    if (kept.length === entries.length) fail(`Warning: User ${cmd.username} not found in password file.`);
    writeAll(
      cmd.file,
      kept.map((e) => e.line),
    );
    return;
  }
  if (cmd.mode === 'upgrade') {
    const entries = parseEntries(text);
    // mosquitto_passwd 2.0.11 ignores -I when upgrading and always uses the default iteration count.
    const lines = await Promise.all(
      entries.map((e) => entryLine(cmd, e.username, e.password, DEFAULT_ITERATIONS)),
    );
    writeAll(cmd.file, lines);
    return;
  }

  const password = cmd.password ?? (await promptPassword());
  const entries = parseEntries(text);
  const fresh = await entryLine(cmd, cmd.username, password, cmd.iterations);
  let found = false;
  const lines = entries.map((e) => {
    if (e.username !== cmd.username) return e.line;
    found = true;
    return fresh;
  });
  if (!found) lines.push(fresh);
  writeAll(cmd.file, lines);
}

/** Entry point used by bin/culex-passwd.js. Resolves to the exit code, which is also set on the process. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  try {
    await run(parseArgs(argv));
  } catch (err) {
    if (!(err instanceof CliFailure)) throw err;
    if (err.toStdout) process.stdout.write(err.message);
    else process.stderr.write(`${err.message}\n`);
    code = err.exitCode;
  }
  process.exitCode = code;
  return code;
}
