// What every dynamic-security command handler works with, and the helpers they share (replies, role lists,
// list paging), mirroring the plugin's dynsec__command_reply and dynsec_rolelist__load_from_json.

import type { ClientInfo } from '../broker/hooks.js';
import { checkUtf8String } from '../protocol/utf8.js';
import type { JsonValue } from './cjson.js';
import type { Client, DynsecData, Group, Role, RoleLink } from './dynsec-model.js';
import { getBool, getInt, getString, isObject, type JsonObject, member } from './json-get.js';

export interface CommandContext {
  readonly data: DynsecData;
  /** The client that sent the command (for the log lines). */
  readonly admin: ClientInfo;
  readonly responses: JsonValue[];
  /** Persists the data (after every successful change, as the plugin saves). */
  save(): void;
  /** Disconnects the clients with this username; null = clients without one (mosquitto_kick_client_by_username). */
  kick(username: string | null): void;
  /** An `information` log line, prefixed with `dynsec: clientid/username | `. */
  log(text: string): void;
}

export type CommandHandler = (ctx: CommandContext, cmd: JsonObject, correlation: string | undefined) => void;

export function reply(
  ctx: Pick<CommandContext, 'responses'>,
  command: string,
  error: string | null,
  correlation?: string,
): void {
  const out: JsonObject = { command };
  if (error !== null) out.error = error;
  if (correlation !== undefined) out.correlationData = correlation;
  ctx.responses.push(out);
}

/** A response carrying `data`: command, data, correlationData. */
export function replyData(
  ctx: Pick<CommandContext, 'responses'>,
  command: string,
  data: JsonObject,
  correlation?: string,
): void {
  const out: JsonObject = { command, data };
  if (correlation !== undefined) out.correlationData = correlation;
  ctx.responses.push(out);
}

export function validUtf8(s: string): boolean {
  return checkUtf8String(s) === null;
}

/**
 * A required name member, checked for presence and UTF-8 as each handler does; replies and returns null on
 * failure. `label` is the word in the error ("Username", "Group name", "Role name").
 */
export function requireName(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  key: string,
  label: string,
  correlation: string | undefined,
): string | null {
  const value = getString(cmd, key, false);
  if (typeof value !== 'string') {
    reply(ctx, command, `Invalid/missing ${key}`, correlation);
    return null;
  }
  if (!validUtf8(value)) {
    reply(ctx, command, `${label} not valid UTF-8`, correlation);
    return null;
  }
  return value;
}

/** What a command names (client, group, role): its name member, then the entity; replies `missing` when absent. */
export interface NamedKind<T> {
  readonly key: string;
  readonly label: string;
  readonly missing: string;
  find(ctx: CommandContext, name: string): T | undefined;
}

export const CLIENT: NamedKind<Client> = {
  key: 'username',
  label: 'Username',
  missing: 'Client not found',
  find: (ctx, name) => ctx.data.findClient(name),
};

export const GROUP: NamedKind<Group> = {
  key: 'groupname',
  label: 'Group name',
  missing: 'Group not found',
  find: (ctx, name) => ctx.data.findGroup(name),
};

export const ROLE: NamedKind<Role> = {
  key: 'rolename',
  label: 'Role name',
  missing: 'Role not found',
  find: (ctx, name) => ctx.data.findRole(name),
};

/** The entity a command names, or null after replying why not (bad name, or `kind.missing`). */
export function findNamed<T>(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  correlation: string | undefined,
  kind: NamedKind<T>,
  missing = kind.missing,
): T | null {
  const name = requireName(ctx, command, cmd, kind.key, kind.label, correlation);
  if (name === null) return null;
  const found = kind.find(ctx, name);
  if (found === undefined) {
    reply(ctx, command, missing, correlation);
    return null;
  }
  return found;
}

/** An optional text member; false after replying "Invalid/missing NAME" for a non-string. */
export function optionalText(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  key: string,
  correlation: string | undefined,
): string | undefined | false {
  const value = getString(cmd, key, true);
  if (value === null) {
    reply(ctx, command, `Invalid/missing ${key}`, correlation);
    return false;
  }
  return value;
}

/** The optional `textname` and `textdescription` of a create command; false after replying that one is bad. */
export function optionalTexts(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  correlation: string | undefined,
): { textname: string | undefined; textdescription: string | undefined } | false {
  const textname = optionalText(ctx, command, cmd, 'textname', correlation);
  if (textname === false) return false;
  const textdescription = optionalText(ctx, command, cmd, 'textdescription', correlation);
  if (textdescription === false) return false;
  return { textname, textdescription };
}

/**
 * The name and texts of a create command (createGroup, createRole), checked in the plugin's order; null after
 * replying why not, `exists` when that name is taken.
 */
export function newNamed(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  correlation: string | undefined,
  kind: NamedKind<unknown>,
  exists: string,
): { name: string; textname: string | undefined; textdescription: string | undefined } | null {
  const name = requireName(ctx, command, cmd, kind.key, kind.label, correlation);
  if (name === null) return null;
  const texts = optionalTexts(ctx, command, cmd, correlation);
  if (texts === false) return null;
  if (kind.find(ctx, name) !== undefined) {
    reply(ctx, command, exists, correlation);
    return null;
  }
  return { name, ...texts };
}

/**
 * The two names and the priority of a link command (addClientRole, addGroupClient, addGroupRole and their
 * removes): null after replying that a name is bad. Whether each exists is the handler's to check.
 */
export function linkNames(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  correlation: string | undefined,
  first: NamedKind<unknown>,
  second: NamedKind<unknown>,
): { first: string; second: string; priority: number } | null {
  const a = requireName(ctx, command, cmd, first.key, first.label, correlation);
  if (a === null) return null;
  const b = requireName(ctx, command, cmd, second.key, second.label, correlation);
  if (b === null) return null;
  return { first: a, second: b, priority: getInt(cmd, 'priority', -1) };
}

export const ROLES_INVALID = "'roles' not an array or missing/invalid rolename";

export type RoleListResult = RoleLink[] | 'absent' | 'not-found' | 'invalid';

/** dynsec_rolelist__load_from_json over a command's `roles` member. */
export function loadRoleLinks(data: DynsecData, cmd: JsonObject): RoleListResult {
  const list = member(cmd, 'roles');
  if (list === undefined) return 'absent';
  if (!Array.isArray(list)) return 'invalid';
  const links: RoleLink[] = [];
  for (const item of list) {
    const name = isObject(item) ? member(item, 'rolename') : undefined;
    if (typeof name !== 'string') return 'invalid';
    const role: Role | undefined = data.findRole(name);
    if (role === undefined) return 'not-found';
    if (!links.some((l) => l.role === role))
      links.push({ role, priority: getInt(item as JsonObject, 'priority', -1) });
  }
  return links;
}

/** `verbose`, `count`, `offset` of the list commands, with the plugin's quirk that count 0 still yields one. */
export function page<T>(
  items: readonly T[],
  cmd: JsonObject,
): { out: T[]; verbose: boolean; count: number; offset: number } {
  const verbose = getBool(cmd, 'verbose', false);
  let count = getInt(cmd, 'count', -1);
  const offset = getInt(cmd, 'offset', 0);
  const out: T[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i < offset) continue;
    out.push(items[i] as T);
    if (count >= 0) {
      count--;
      if (count <= 0) break;
    }
  }
  return { out, verbose, count, offset };
}

/** listClients / listGroups / listRoles: a page of `items` under `key`, each as `json` gives it, with the total. */
export function listCommand<T>(
  command: string,
  key: string,
  items: (data: DynsecData) => readonly T[],
  json: (item: T, verbose: boolean) => JsonValue,
): CommandHandler {
  return (ctx, cmd, corr) => {
    const all = items(ctx.data);
    const { out, verbose, count, offset } = page(all, cmd);
    replyData(ctx, command, { totalCount: all.length, [key]: out.map((item) => json(item, verbose)) }, corr);
    ctx.log(`${command} | verbose=${verbose} | count=${count} | offset=${offset}`);
  };
}

/** Kicks everyone a change to `group` affects (group__kick_all). */
export function kickGroup(ctx: CommandContext, group: Group): void {
  if (ctx.data.anonymousGroup === group) ctx.kick(null);
  for (const link of group.clients) ctx.kick(link.client.username);
}

/** Kicks everyone holding `role` directly or through a group (role__kick_all). */
export function kickRole(ctx: CommandContext, role: Role): void {
  for (const client of role.clients) ctx.kick(client.username);
  for (const group of role.groups) kickGroup(ctx, group);
}
