// Typed error for unreadable or malformed password / ACL files, pointing at the file and line at fault.

export class AuthFileError extends Error {
  override readonly name = 'AuthFileError';
  /** Path (or label) of the file that failed. */
  readonly file: string;
  /** 1-based line number, or 0 when the problem is not tied to a line (e.g. the file cannot be read). */
  readonly line: number;

  constructor(file: string, line: number, message: string) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.file = file;
    this.line = line;
  }
}
