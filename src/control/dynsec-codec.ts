// The dynamic-security JSON document: reading what Mosquitto's plugin (or `mosquitto_ctrl dynsec init`) wrote,
// and writing members in the plugin's order so Mosquitto reads Culex's file and the two files compare equal.

import type { JsonValue } from './cjson.js';
import {
  ACL_TYPES,
  addAcl,
  type Client,
  type ClientLink,
  DynsecData,
  type Group,
  type GroupLink,
  makeAcl,
  newClient,
  newGroup,
  newRole,
  type Role,
  type RoleLink,
} from './dynsec-model.js';
import { decodeStored } from './dynsec-password.js';
import { getBool, getInt, getString, isObject, type JsonObject, member } from './json-get.js';

function eachObject(value: JsonValue | undefined, fn: (o: JsonObject) => void): void {
  if (Array.isArray(value)) for (const item of value) if (isObject(item)) fn(item);
}

function optionalString(obj: JsonObject, name: string): string | undefined {
  const v = member(obj, name);
  return typeof v === 'string' ? v : undefined;
}

/** Reads the ACLs of one role (or of a createRole / modifyRole command); acltype matches case-insensitively. */
export function loadAcls(role: Role, list: JsonValue | undefined): void {
  for (const type of ACL_TYPES) {
    eachObject(list, (j) => {
      const t = member(j, 'acltype');
      if (typeof t !== 'string' || t.toLowerCase() !== type.toLowerCase()) return;
      const topic = member(j, 'topic');
      if (typeof topic !== 'string') return;
      addAcl(role, type, makeAcl(topic, getInt(j, 'priority', 0), getBool(j, 'allow', false)));
    });
  }
}

/** Throws when the document itself is unusable (the plugin then starts with nothing loaded). */
export function decodeDocument(tree: JsonValue): DynsecData {
  const data = new DynsecData();
  if (!isObject(tree)) return data;
  const access = member(tree, 'defaultACLAccess');
  if (isObject(access)) {
    for (const key of ['publishClientSend', 'publishClientReceive', 'subscribe', 'unsubscribe'] as const) {
      data.defaultAccess[key] = member(access, key) === true;
    }
  }
  eachObject(member(tree, 'roles'), (j) => {
    const name = member(j, 'rolename');
    if (typeof name !== 'string' || data.findRole(name) !== undefined) return;
    const role = newRole(name);
    role.textname = optionalString(j, 'textname');
    role.textdescription = optionalString(j, 'textdescription');
    role.allowWildcardSubs = getBool(j, 'allowwildcardsubs', true);
    loadAcls(role, member(j, 'acls'));
    data.addRole(role);
  });
  eachObject(member(tree, 'clients'), (j) => {
    const name = member(j, 'username');
    if (typeof name !== 'string' || data.findClient(name) !== undefined) return;
    const client = newClient(name);
    client.disabled = member(j, 'disabled') === true;
    const [pw, salt, iterations] = [member(j, 'password'), member(j, 'salt'), member(j, 'iterations')];
    if (typeof pw === 'string' && typeof salt === 'string' && typeof iterations === 'number') {
      // A malformed hash or a count below 1 drops the whole client, as the plugin does.
      client.password = iterations < 1 ? undefined : decodeStored(pw, salt, iterations);
      if (client.password === undefined) return;
    }
    client.clientid = optionalString(j, 'clientid');
    client.textname = optionalString(j, 'textname');
    client.textdescription = optionalString(j, 'textdescription');
    data.addClient(client);
    eachObject(member(j, 'roles'), (r) => {
      const role = data.findRole(String(member(r, 'rolename')));
      if (typeof member(r, 'rolename') === 'string' && role !== undefined)
        data.addClientRole(client, role, getInt(r, 'priority', -1));
    });
  });
  eachObject(member(tree, 'groups'), (j) => {
    const name = getString(j, 'groupname', false);
    if (typeof name !== 'string' || data.findGroup(name) !== undefined) return;
    const group = newGroup(name);
    group.textname = optionalString(j, 'textname');
    group.textdescription = optionalString(j, 'textdescription');
    eachObject(member(j, 'roles'), (r) => {
      const rolename = member(r, 'rolename');
      const role = typeof rolename === 'string' ? data.findRole(rolename) : undefined;
      if (role !== undefined) data.addGroupRole(group, role, getInt(r, 'priority', -1));
    });
    data.addGroup(group);
    eachObject(member(j, 'clients'), (c) => {
      const username = member(c, 'username');
      const client = typeof username === 'string' ? data.findClient(username) : undefined;
      if (client !== undefined) data.addGroupClient(group, client, getInt(c, 'priority', -1));
    });
  });
  const anonymous = member(tree, 'anonymousGroup');
  if (typeof anonymous === 'string') data.anonymousGroup = data.findGroup(anonymous);
  return data;
}

export function rolesJson(links: readonly RoleLink[]): JsonValue[] {
  return links.map((l) =>
    l.priority === -1 ? { rolename: l.role.rolename } : { rolename: l.role.rolename, priority: l.priority },
  );
}

export function groupsJson(links: readonly GroupLink[]): JsonValue[] {
  return links.map((l) =>
    l.priority === -1
      ? { groupname: l.group.groupname }
      : { groupname: l.group.groupname, priority: l.priority },
  );
}

function clientLinksJson(links: readonly ClientLink[]): JsonValue[] {
  return links.map((l) =>
    l.priority === -1
      ? { username: l.client.username }
      : { username: l.client.username, priority: l.priority },
  );
}

/** username, clientid, textname, textdescription, disabled (only when true): the plugin's member order. */
export function clientHead(client: Client): JsonObject {
  const out: JsonObject = { username: client.username };
  if (client.clientid !== undefined) out.clientid = client.clientid;
  if (client.textname !== undefined) out.textname = client.textname;
  if (client.textdescription !== undefined) out.textdescription = client.textdescription;
  if (client.disabled) out.disabled = true;
  return out;
}

export function groupHead(group: Group): JsonObject {
  const out: JsonObject = { groupname: group.groupname };
  if (group.textname !== undefined) out.textname = group.textname;
  if (group.textdescription !== undefined) out.textdescription = group.textdescription;
  return out;
}

export function roleJson(role: Role): JsonObject {
  const out: JsonObject = { rolename: role.rolename };
  if (role.textname !== undefined) out.textname = role.textname;
  if (role.textdescription !== undefined) out.textdescription = role.textdescription;
  // Written only when false (2.1 always writes it), so files and responses stay 2.0.11's byte for byte.
  if (!role.allowWildcardSubs) out.allowwildcardsubs = false;
  const acls: JsonValue[] = [];
  for (const type of ACL_TYPES) {
    for (const acl of role.acls[type])
      acls.push({ acltype: type, topic: acl.topic, priority: acl.priority, allow: acl.allow });
  }
  out.acls = acls;
  return out;
}

/** The whole document in dynsec__config_save's order: defaults, clients, groups, anonymous group, roles. */
export function encodeDocument(data: DynsecData): JsonObject {
  const clients = data.clients.map((c) => {
    const out = clientHead(c);
    out.roles = rolesJson(c.roles);
    if (c.password !== undefined) {
      out.password = c.password.hash.toString('base64');
      out.salt = c.password.salt.toString('base64');
      out.iterations = c.password.iterations;
    }
    return out;
  });
  const groups = data.groups.map((g) => {
    const out = groupHead(g);
    out.roles = rolesJson(g.roles);
    out.clients = clientLinksJson(g.clients);
    return out;
  });
  const doc: JsonObject = { defaultACLAccess: { ...data.defaultAccess }, clients, groups };
  if (data.anonymousGroup !== undefined) doc.anonymousGroup = data.anonymousGroup.groupname;
  doc.roles = data.roles.map(roleJson);
  return doc;
}
