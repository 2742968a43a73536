// The one error type of configuration loading: where (file, line), which option, and why.

/** Stable codes: callers branch on these, never on message text. */
export const ConfigErrorCode = {
  unknownOption: 'CONFIG_UNKNOWN_OPTION',
  unsupportedOption: 'CONFIG_UNSUPPORTED_OPTION',
  invalidValue: 'CONFIG_INVALID_VALUE',
  missingValue: 'CONFIG_MISSING_VALUE',
  misplacedOption: 'CONFIG_MISPLACED_OPTION',
  fileError: 'CONFIG_FILE_ERROR',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

export interface ConfigErrorInit {
  code: ConfigErrorCode;
  file: string;
  /** 1-based line of the offending option; 0 when the error concerns the file as a whole. */
  line: number;
  /** Option name as written, when the error is about one option. */
  option?: string;
  /** Human explanation without the location prefix. */
  reason: string;
}

/**
 * Thrown by the parser. `message` reads `file.conf:12: option "foo": <reason>`, except for options Culex
 * knows but does not implement: `file.conf:12: option "foo" is not supported yet by Culex` (plus the reason).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number;
  readonly option: string | undefined;
  readonly reason: string;

  constructor(init: ConfigErrorInit) {
    super(formatConfigError(init));
    this.code = init.code;
    this.file = init.file;
    this.line = init.line;
    this.option = init.option;
    this.reason = init.reason;
  }
}

function formatConfigError(init: ConfigErrorInit): string {
  const where = init.line > 0 ? `${init.file}:${init.line}` : init.file;
  if (init.option === undefined) return `${where}: ${init.reason}`;
  if (init.code === ConfigErrorCode.unsupportedOption) {
    return `${where}: option "${init.option}" is not supported yet by Culex: ${init.reason}`;
  }
  return `${where}: option "${init.option}": ${init.reason}`;
}

/**
 * Thrown by value validators and option handlers, which know neither file nor line;
 * the parser turns it into a ConfigError at the current line.
 */
export class OptionValueError extends Error {
  override readonly name = 'OptionValueError';
  constructor(
    reason: string,
    readonly code: ConfigErrorCode = ConfigErrorCode.invalidValue,
  ) {
    super(reason);
  }
}
