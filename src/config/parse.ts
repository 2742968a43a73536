// Reads mosquitto.conf text line by line, dispatches each option through the option table, follows include_dir.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CulexConfig } from './config.js';
import { ConfigError, ConfigErrorCode, OptionValueError } from './config-error.js';
import { type ConfigDraft, newDraft } from './draft.js';
import { finalizeConfig } from './finalize.js';
import { sortIncludeNames } from './include-order.js';
import type { OptionCall, SupportedOption } from './option-spec.js';
import { lookupOption } from './options.js';

export type { CulexConfig } from './config.js';
export { ConfigError, ConfigErrorCode } from './config-error.js';

interface ParseRun {
  draft: ConfigDraft;
  /** Files read so far, in order. */
  files: string[];
  /** Absolute path of the main file, which include_dir must not pull in again. */
  mainPath?: string;
}

/** Parses a configuration file and the include_dir files it names. Throws ConfigError. */
export function parseConfigFile(path: string): CulexConfig {
  const text = readConfigFile(path, path, 0, 'include_dir');
  return parseMain(text, path, resolve(path));
}

/** Parses configuration text; `fileName` is used in error messages. include_dir paths resolve from the cwd. */
export function parseConfigText(text: string, fileName: string): CulexConfig {
  return parseMain(text, fileName, undefined);
}

function parseMain(text: string, fileName: string, mainPath: string | undefined): CulexConfig {
  const draft = newDraft();
  draft.defaultListener.site = { file: fileName, line: 0, option: 'port' };
  const run: ParseRun = mainPath === undefined ? { draft, files: [] } : { draft, files: [], mainPath };
  parseText(run, text, fileName, true);
  return finalizeConfig(draft, run.files);
}

function readConfigFile(
  path: string,
  blameFile: string,
  blameLine: number,
  option: string | undefined,
): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const init = {
      code: ConfigErrorCode.fileError,
      file: blameLine > 0 ? blameFile : path,
      line: blameLine,
      reason: `cannot read configuration file "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    };
    throw new ConfigError(blameLine > 0 && option !== undefined ? { ...init, option } : init);
  }
}

function parseText(run: ParseRun, text: string, fileName: string, isMain: boolean): void {
  run.files.push(fileName);
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries())
    parseLine(run, raw.replace(/\r$/, ''), fileName, index + 1, isMain);
}

/** Mosquitto: `#` only as the very first character starts a comment; words are separated by spaces. */
function parseLine(run: ParseRun, line: string, file: string, lineNo: number, isMain: boolean): void {
  if (line.startsWith('#')) return;
  const body = line.replace(/^ +/, '');
  if (body.trim() === '') return;
  const space = body.indexOf(' ');
  const name = space === -1 ? body : body.slice(0, space);
  const rest =
    space === -1
      ? ''
      : body
          .slice(space + 1)
          .replace(/^ +/, '')
          .trimEnd();
  const fail = (code: ConfigErrorCode, reason: string): never => {
    throw new ConfigError({ code, file, line: lineNo, option: name, reason });
  };
  if (name === 'include_dir') {
    includeDir(run, rest, file, lineNo, isMain);
    return;
  }
  const spec = lookupOption(name);
  if (spec === undefined) fail(ConfigErrorCode.unknownOption, unknownReason(name));
  else if (spec.kind === 'unsupported') fail(ConfigErrorCode.unsupportedOption, spec.reason);
  else
    applyOption(
      run.draft,
      spec,
      { words: splitWords(rest), rest },
      { file, line: lineNo, option: name },
      fail,
    );
}

function unknownReason(name: string): string {
  if (name.startsWith('#')) return 'unknown option (a comment must start with "#" in the first column)';
  if (name.includes('\t')) return 'unknown option (words must be separated by spaces, not tabs)';
  return 'unknown option';
}

/** Words of the value; a word starting with `#` and all after it are a trailing comment (Mosquitto ignores them). */
function splitWords(rest: string): string[] {
  const words = rest.split(/ +/).filter((w) => w !== '');
  const comment = words.findIndex((w) => w.startsWith('#'));
  return comment === -1 ? words : words.slice(0, comment);
}

function applyOption(
  draft: ConfigDraft,
  spec: SupportedOption,
  call: OptionCall,
  site: ConfigDraft['site'],
  fail: (code: ConfigErrorCode, reason: string) => never,
): void {
  checkArity(spec, call, fail);
  draft.site = site;
  try {
    spec.apply(draft, call);
  } catch (err) {
    if (err instanceof OptionValueError) fail(err.code, err.message);
    throw err;
  }
}

function checkArity(
  spec: SupportedOption,
  call: OptionCall,
  fail: (code: ConfigErrorCode, reason: string) => never,
) {
  const { min, max } =
    spec.args === 'one' ? { min: 1, max: 1 } : spec.args === 'rest' ? { min: 1, max: Infinity } : spec.args;
  const count = spec.args === 'rest' ? (call.rest === '' ? 0 : 1) : call.words.length;
  if (count < min)
    fail(ConfigErrorCode.missingValue, min === 1 ? 'missing value' : `needs at least ${min} values`);
  if (count > max) {
    const extra = call.words.slice(max).join(' ');
    fail(
      ConfigErrorCode.invalidValue,
      `unexpected extra value "${extra}" (expected ${max === 1 ? 'one value' : `at most ${max}`})`,
    );
  }
}

/** include_dir: only in the main file (as Mosquitto); its *.conf files in Mosquitto's order, each parsed in turn. */
function includeDir(run: ParseRun, dir: string, file: string, line: number, isMain: boolean): void {
  const fail = (code: ConfigErrorCode, reason: string): never => {
    throw new ConfigError({ code, file, line, option: 'include_dir', reason });
  };
  // Mosquitto silently skips nested include_dir; Culex says so.
  if (!isMain) fail(ConfigErrorCode.misplacedOption, 'only allowed in the main configuration file');
  if (dir === '') fail(ConfigErrorCode.missingValue, 'missing value');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (err) {
    fail(
      ConfigErrorCode.fileError,
      `cannot open directory "${dir}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  for (const name of sortIncludeNames(names)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    if (run.mainPath !== undefined && resolve(path) === run.mainPath) {
      fail(ConfigErrorCode.misplacedOption, `the directory contains the main configuration file "${path}"`);
    }
    parseText(run, readConfigFile(path, file, line, 'include_dir'), path, false);
  }
}
