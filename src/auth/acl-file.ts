// Mosquitto 2.0's ACL file (`user`, `topic`, `pattern` lines) and its access check, rule for rule.

import { readFileSync } from 'node:fs';
import { AuthFileError } from './auth-file-error.js';
import { isValidFilter, topicMatches } from './topic-match.js';

export type AclAccess = 'read' | 'write' | 'subscribe' | 'unsubscribe';

const READ = 1;
const WRITE = 2;
/** `deny` grants nothing and, on a match, vetoes everything else. */
const DENY = 0;

interface AclRule {
  readonly filter: string;
  /** Bitmask of READ / WRITE, or DENY. */
  readonly access: number;
}

interface PatternRule extends AclRule {
  readonly usesUsername: boolean;
}

const ACCESS_WORDS: ReadonlyMap<string, number> = new Map([
  ['read', READ],
  ['write', WRITE],
  ['readwrite', READ | WRITE],
  ['deny', DENY],
]);

/** Trim like misc__trimblanks(). */
function trimBlanks(text: string): string {
  return text.replace(/^[ \t\r\n\v\f]+|[ \t\r\n\v\f]+$/g, '');
}

/** Split off the first space-delimited token the way strtok(" ") does, returning [token, rest-after-one-space]. */
function nextToken(text: string): [string, string | undefined] | undefined {
  const start = text.search(/[^ ]/);
  if (start === -1) return undefined;
  const end = text.indexOf(' ', start);
  if (end === -1) return [text.slice(start), undefined];
  const rest = text.slice(end + 1);
  return [text.slice(start, end), rest.length > 0 ? rest : undefined];
}

/** Add a rule to a list: Mosquitto puts `deny` rules first so they are always seen before any grant. */
function addRule<T extends AclRule>(list: T[], rule: T): void {
  if (rule.access === DENY) list.unshift(rule);
  else list.push(rule);
}

/** Expand `%c` / `%u` left to right (Mosquitto leaves `%u` literal when there is no username). */
function expandPattern(filter: string, clientId: string, username: string | undefined): string {
  return filter.replace(/%[cu]/g, (token) => {
    if (token === '%c') return clientId;
    return username ?? token;
  });
}

export class AclFile {
  /** Rules before any `user` line: they apply to clients that connected without a username. */
  readonly #anonymous: AclRule[] | undefined;
  readonly #users: ReadonlyMap<string, AclRule[]>;
  readonly #patterns: readonly PatternRule[];

  private constructor(
    anonymous: AclRule[] | undefined,
    users: Map<string, AclRule[]>,
    patterns: PatternRule[],
  ) {
    this.#anonymous = anonymous;
    this.#users = users;
    this.#patterns = patterns;
  }

  /** Read and parse an ACL file; throws AuthFileError if unreadable or malformed (Mosquitto refuses to start). */
  static load(path: string): AclFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AuthFileError(path, 0, `Unable to open acl_file: ${(err as Error).message}`);
    }
    return AclFile.parse(text, path);
  }

  static parse(text: string, fileName: string): AclFile {
    let anonymous: AclRule[] | undefined;
    const users = new Map<string, AclRule[]>();
    const patterns: PatternRule[] = [];
    let currentUser: string | undefined;

    for (const [index, raw] of text.split('\n').entries()) {
      const fail = (message: string): AuthFileError => new AuthFileError(fileName, index + 1, message);
      const line = raw.replace(/[ \t\r\n\v\f]+$/, '');
      // Only a '#' in the very first column starts a comment; blank lines yield no token.
      if (line.startsWith('#')) continue;
      const first = nextToken(line);
      if (first === undefined) continue;
      const [keyword, afterKeyword] = first;

      if (keyword === 'user') {
        const name = afterKeyword === undefined ? '' : trimBlanks(afterKeyword);
        if (name.length === 0) throw fail('Missing username in acl_file.');
        currentUser = name;
        continue;
      }
      if (keyword !== 'topic' && keyword !== 'pattern') throw fail(`Invalid line in acl_file: ${line}.`);

      const second = afterKeyword === undefined ? undefined : nextToken(afterKeyword);
      if (second === undefined) throw fail('Empty topic in acl_file.');
      const [word, afterWord] = second;
      // With a single argument it is the topic and access defaults to readwrite.
      let filter = word;
      let access = READ | WRITE;
      if (afterWord !== undefined) {
        const mapped = ACCESS_WORDS.get(word);
        if (mapped === undefined) throw fail(`Invalid topic access type "${word}" in acl_file.`);
        access = mapped;
        filter = trimBlanks(afterWord);
      }
      if (!isValidFilter(filter)) throw fail(`Invalid ACL topic "${filter}" in acl_file.`);

      if (keyword === 'pattern') {
        addRule(patterns, { filter, access, usesUsername: filter.includes('%u') });
      } else if (currentUser === undefined) {
        anonymous ??= [];
        addRule(anonymous, { filter, access });
      } else {
        let list = users.get(currentUser);
        if (list === undefined) {
          list = [];
          users.set(currentUser, list);
        }
        addRule(list, { filter, access });
      }
    }
    return new AclFile(anonymous, users, patterns);
  }

  /**
   * May this client perform `access` on `topic`? `read` is checked per delivered message against its topic
   * name, `write` per PUBLISH. `subscribe` is always allowed: Mosquitto 2.0's ACL file does not vet
   * subscription filters (verified against 2.0.11) and instead filters every delivery with a `read` check.
   */
  check(access: AclAccess, clientId: string, username: string | undefined, topic: string): boolean {
    if (access === 'subscribe' || access === 'unsubscribe') return true;
    const wanted = access === 'read' ? READ : WRITE;
    const own = username === undefined ? this.#anonymous : this.#users.get(username);
    if (own === undefined && this.#patterns.length === 0) return false;

    for (const rule of own ?? []) {
      // A '$' topic is only reachable through rules that themselves start with '$'.
      if (topic.startsWith('$') && !rule.filter.startsWith('$')) continue;
      if (!topicMatches(rule.filter, topic)) continue;
      if (rule.access === DENY) return false;
      if ((rule.access & wanted) !== 0) return true;
    }

    if (this.#patterns.length === 0) return false;
    // Wildcards in a username or client id would widen a pattern after substitution: refuse outright.
    if (/[+#]/.test(clientId) || (username !== undefined && /[+#]/.test(username))) return false;
    for (const rule of this.#patterns) {
      if (rule.usesUsername && username === undefined) continue;
      if (!topicMatches(expandPattern(rule.filter, clientId, username), topic)) continue;
      if (rule.access === DENY) return false;
      if ((rule.access & wanted) !== 0) return true;
    }
    return false;
  }
}
