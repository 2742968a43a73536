// The shape of one entry of the option table: what an option takes and what it does to the draft config.

import type { ConfigDraft } from './draft.js';

/** Where an option lives in Mosquitto's manual (documentation and error wording only). */
export type OptionScope =
  | 'general'
  | 'security'
  | 'listener'
  | 'tls'
  | 'psk'
  | 'plugin'
  | 'bridge'
  | 'bridge-tls'
  | 'cluster';

/**
 * How the rest of the line is read:
 * - `one`: exactly one word (a trailing word starting with `#` is a comment, as Mosquitto ignores extra words);
 * - `rest`: everything after the name, inner spaces kept (strftime formats, plugin option values);
 * - `{min,max}`: that many words.
 */
export type OptionArgs = 'one' | 'rest' | { min: number; max: number };

export interface OptionCall {
  /** Words after the option name (trailing `#…` comment words removed). */
  words: string[];
  /** Raw text after the option name and its separating spaces, trailing spaces removed. */
  rest: string;
}

export interface SupportedOption {
  kind: 'supported';
  scope: OptionScope;
  args: OptionArgs;
  /** Applies the value; throws OptionValueError to refuse it. */
  apply(draft: ConfigDraft, call: OptionCall): void;
}

export interface UnsupportedOption {
  kind: 'unsupported';
  scope: OptionScope;
  /** Why Culex refuses it; shown after "is not supported yet by Culex". */
  reason: string;
}

export type OptionSpec = SupportedOption | UnsupportedOption;

/** Helper for the common single-word option. */
export function one(scope: OptionScope, apply: (draft: ConfigDraft, value: string) => void): SupportedOption {
  return { kind: 'supported', scope, args: 'one', apply: (draft, call) => apply(draft, call.words[0] ?? '') };
}

export function rest(
  scope: OptionScope,
  apply: (draft: ConfigDraft, value: string) => void,
): SupportedOption {
  return { kind: 'supported', scope, args: 'rest', apply: (draft, call) => apply(draft, call.rest) };
}

export function unsupported(scope: OptionScope, reason: string): UnsupportedOption {
  return { kind: 'unsupported', scope, reason };
}
