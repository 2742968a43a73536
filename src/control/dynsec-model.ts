// The dynamic-security data: clients, groups, roles and their links, kept in the orders Mosquitto's plugin keeps
// them (uthash lists sorted on insertion), because those orders decide ACL precedence and the JSON output.

import type { DynsecPassword } from './dynsec-password.js';

export const ACL_TYPES = [
  'publishClientSend',
  'publishClientReceive',
  'subscribeLiteral',
  'subscribePattern',
  'unsubscribeLiteral',
  'unsubscribePattern',
] as const;
export type AclType = (typeof ACL_TYPES)[number];

export interface Acl {
  readonly topic: string;
  readonly priority: number;
  readonly allow: boolean;
  /** `topic` split at '/', once, because 'read' checks run for every delivery. */
  readonly levels: readonly string[];
}

export function makeAcl(topic: string, priority: number, allow: boolean): Acl {
  return { topic, priority, allow, levels: topic.split('/') };
}

/** A role held by a client or group; priority -1 means "none given" (not written to JSON). */
export interface RoleLink {
  readonly role: Role;
  readonly priority: number;
}

export interface GroupLink {
  readonly group: Group;
  readonly priority: number;
}

export interface ClientLink {
  readonly client: Client;
  readonly priority: number;
}

export interface Role {
  readonly rolename: string;
  textname: string | undefined;
  textdescription: string | undefined;
  /** 2.1's `allowwildcardsubs`: false refuses every SUBSCRIBE with '+' or '#' reaching this role. */
  allowWildcardSubs: boolean;
  acls: Record<AclType, Acl[]>;
  /** Back-references, so a change to the role can reach the clients it affects. */
  readonly clients: Set<Client>;
  readonly groups: Set<Group>;
}

export interface Client {
  readonly username: string;
  clientid: string | undefined;
  textname: string | undefined;
  textdescription: string | undefined;
  disabled: boolean;
  password: DynsecPassword | undefined;
  roles: RoleLink[];
  groups: GroupLink[];
}

export interface Group {
  readonly groupname: string;
  textname: string | undefined;
  textdescription: string | undefined;
  roles: RoleLink[];
  clients: ClientLink[];
}

export interface DefaultAccess {
  publishClientSend: boolean;
  publishClientReceive: boolean;
  subscribe: boolean;
  unsubscribe: boolean;
}

/** strcmp order (Mosquitto compares bytes; code units agree outside astral characters). */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * uthash's HASH_ADD_INORDER: the item goes before the first element that compares greater, so equal
 * elements keep their insertion order.
 */
export function insertSorted<T>(list: T[], item: T, cmp: (a: T, b: T) => number): void {
  let i = 0;
  while (i < list.length && cmp(list[i] as T, item) <= 0) i++;
  list.splice(i, 0, item);
}

/** Role and group lists: higher priority first, then by name. */
const byPriorityThenRole = (a: RoleLink, b: RoleLink): number =>
  b.priority - a.priority || byteCompare(a.role.rolename, b.role.rolename);
const byPriorityThenGroup = (a: GroupLink, b: GroupLink): number =>
  b.priority - a.priority || byteCompare(a.group.groupname, b.group.groupname);
/** A group's members are listed by username only (their priority orders the client's groups instead). */
const byClientName = (a: ClientLink, b: ClientLink): number =>
  byteCompare(a.client.username, b.client.username);
/** ACLs: higher priority first; equal priorities in the order they were added. */
const byAclPriority = (a: Acl, b: Acl): number => b.priority - a.priority;

export function emptyAcls(): Record<AclType, Acl[]> {
  return {
    publishClientSend: [],
    publishClientReceive: [],
    subscribeLiteral: [],
    subscribePattern: [],
    unsubscribeLiteral: [],
    unsubscribePattern: [],
  };
}

export function addAcl(role: Role, type: AclType, acl: Acl): void {
  insertSorted(role.acls[type], acl, byAclPriority);
}

export class DynsecData {
  /** Each kept sorted by name, as the plugin's HASH_SORT / INORDER inserts keep them. */
  readonly clients: Client[] = [];
  readonly groups: Group[] = [];
  readonly roles: Role[] = [];
  anonymousGroup: Group | undefined;
  defaultAccess: DefaultAccess = {
    publishClientSend: false,
    publishClientReceive: false,
    subscribe: false,
    unsubscribe: false,
  };
  private readonly clientsByName = new Map<string, Client>();
  private readonly groupsByName = new Map<string, Group>();
  private readonly rolesByName = new Map<string, Role>();

  findClient(username: string): Client | undefined {
    return this.clientsByName.get(username);
  }
  findGroup(groupname: string): Group | undefined {
    return this.groupsByName.get(groupname);
  }
  findRole(rolename: string): Role | undefined {
    return this.rolesByName.get(rolename);
  }

  addClient(client: Client): void {
    this.clientsByName.set(client.username, client);
    insertSorted(this.clients, client, (a, b) => byteCompare(a.username, b.username));
  }
  addGroup(group: Group): void {
    this.groupsByName.set(group.groupname, group);
    insertSorted(this.groups, group, (a, b) => byteCompare(a.groupname, b.groupname));
  }
  addRole(role: Role): void {
    this.rolesByName.set(role.rolename, role);
    insertSorted(this.roles, role, (a, b) => byteCompare(a.rolename, b.rolename));
  }

  deleteClient(client: Client): void {
    for (const link of [...client.groups]) this.removeGroupClient(link.group, client);
    for (const link of client.roles) link.role.clients.delete(client);
    client.roles = [];
    this.clientsByName.delete(client.username);
    remove(this.clients, client);
  }
  deleteGroup(group: Group): void {
    for (const link of [...group.clients]) this.removeGroupClient(group, link.client);
    for (const link of group.roles) link.role.groups.delete(group);
    group.roles = [];
    if (this.anonymousGroup === group) this.anonymousGroup = undefined;
    this.groupsByName.delete(group.groupname);
    remove(this.groups, group);
  }
  deleteRole(role: Role): void {
    for (const client of role.clients) client.roles = client.roles.filter((l) => l.role !== role);
    for (const group of role.groups) group.roles = group.roles.filter((l) => l.role !== role);
    role.clients.clear();
    role.groups.clear();
    this.rolesByName.delete(role.rolename);
    remove(this.roles, role);
  }

  /** False when the client already has the role (the plugin's MOSQ_ERR_ALREADY_EXISTS). */
  addClientRole(client: Client, role: Role, priority: number): boolean {
    if (client.roles.some((l) => l.role === role)) return false;
    insertSorted(client.roles, { role, priority }, byPriorityThenRole);
    role.clients.add(client);
    return true;
  }
  removeClientRole(client: Client, role: Role): void {
    client.roles = client.roles.filter((l) => l.role !== role);
    role.clients.delete(client);
  }
  addGroupRole(group: Group, role: Role, priority: number): boolean {
    if (group.roles.some((l) => l.role === role)) return false;
    insertSorted(group.roles, { role, priority }, byPriorityThenRole);
    role.groups.add(group);
    return true;
  }
  removeGroupRole(group: Group, role: Role): void {
    group.roles = group.roles.filter((l) => l.role !== role);
    role.groups.delete(group);
  }
  /** False when the client is already a member. */
  addGroupClient(group: Group, client: Client, priority: number): boolean {
    if (group.clients.some((l) => l.client === client)) return false;
    insertSorted(group.clients, { client, priority }, byClientName);
    insertSorted(client.groups, { group, priority }, byPriorityThenGroup);
    return true;
  }
  removeGroupClient(group: Group, client: Client): void {
    group.clients = group.clients.filter((l) => l.client !== client);
    client.groups = client.groups.filter((l) => l.group !== group);
  }
  setClientRoles(client: Client, links: readonly RoleLink[]): void {
    for (const link of client.roles) link.role.clients.delete(client);
    client.roles = [];
    for (const link of links) this.addClientRole(client, link.role, link.priority);
  }
  setGroupRoles(group: Group, links: readonly RoleLink[]): void {
    for (const link of group.roles) link.role.groups.delete(group);
    group.roles = [];
    for (const link of links) this.addGroupRole(group, link.role, link.priority);
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

export function newRole(rolename: string): Role {
  return {
    rolename,
    textname: undefined,
    textdescription: undefined,
    allowWildcardSubs: true,
    acls: emptyAcls(),
    clients: new Set(),
    groups: new Set(),
  };
}

export function newClient(username: string): Client {
  return {
    username,
    clientid: undefined,
    textname: undefined,
    textdescription: undefined,
    disabled: false,
    password: undefined,
    roles: [],
    groups: [],
  };
}

export function newGroup(groupname: string): Group {
  return { groupname, textname: undefined, textdescription: undefined, roles: [], clients: [] };
}
