// Client commands of `$CONTROL/dynamic-security/v1`, with the plugin's checks, error strings and kicks.

import { clientHead, groupsJson, rolesJson } from './dynsec-codec.js';
import {
  CLIENT,
  type CommandContext,
  type CommandHandler,
  findNamed,
  linkNames,
  listCommand,
  loadRoleLinks,
  optionalTexts,
  ROLE,
  ROLES_INVALID,
  reply,
  replyData,
  requireName,
  validUtf8,
} from './dynsec-command.js';
import { type Client, newClient } from './dynsec-model.js';
import { hashPassword } from './dynsec-password.js';
import { getInt, getString, isObject, type JsonObject, member } from './json-get.js';

/** Group memberships listed in a command; false when a group is unknown. */
function joinGroups(ctx: CommandContext, client: Client, cmd: JsonObject, strict: boolean): boolean {
  const list = member(cmd, 'groups');
  if (!Array.isArray(list)) return true;
  for (const item of list) {
    if (!isObject(item)) continue;
    const name = member(item, 'groupname');
    if (typeof name !== 'string') continue;
    const group = ctx.data.findGroup(name);
    if (group === undefined) {
      if (strict) return false;
      continue;
    }
    ctx.data.addGroupClient(group, client, getInt(item, 'priority', -1));
  }
  return true;
}

const createClient: CommandHandler = (ctx, cmd, corr) => {
  const c = 'createClient';
  const username = requireName(ctx, c, cmd, 'username', 'Username', corr);
  if (username === null) return;
  const password = getString(cmd, 'password', true);
  if (password === null) return reply(ctx, c, 'Invalid/missing password', corr);
  const clientid = getString(cmd, 'clientid', true);
  if (clientid === null) return reply(ctx, c, 'Invalid/missing client id', corr);
  if (clientid !== undefined && !validUtf8(clientid)) return reply(ctx, c, 'Client ID not valid UTF-8', corr);
  const texts = optionalTexts(ctx, c, cmd, corr);
  if (texts === false) return;
  const { textname, textdescription } = texts;
  if (ctx.data.findClient(username) !== undefined) return reply(ctx, c, 'Client already exists', corr);
  const client = newClient(username);
  client.textname = textname;
  client.textdescription = textdescription;
  if (password !== undefined) client.password = hashPassword(password);
  if (clientid !== undefined && clientid !== '') client.clientid = clientid;
  const roles = loadRoleLinks(ctx.data, cmd);
  if (roles === 'not-found') return reply(ctx, c, 'Role not found', corr);
  if (roles === 'invalid') return reply(ctx, c, ROLES_INVALID, corr);
  ctx.data.addClient(client);
  if (roles !== 'absent') ctx.data.setClientRoles(client, roles);
  if (!joinGroups(ctx, client, cmd, true)) {
    ctx.data.deleteClient(client);
    return reply(ctx, c, 'Group not found', corr);
  }
  ctx.save();
  reply(ctx, c, null, corr);
  ctx.log(
    `createClient | username=${username} | password=${password === undefined ? 'no password' : '*****'}`,
  );
};

const deleteClient: CommandHandler = (ctx, cmd, corr) => {
  const username = getString(cmd, 'username', false);
  if (typeof username !== 'string') return reply(ctx, 'deleteClient', 'Invalid/missing username', corr);
  const client = ctx.data.findClient(username);
  if (client === undefined) return reply(ctx, 'deleteClient', 'Client not found', corr);
  ctx.data.deleteClient(client);
  ctx.save();
  reply(ctx, 'deleteClient', null, corr);
  ctx.kick(username);
  ctx.log(`deleteClient | username=${username}`);
};

function setDisabled(command: string, disabled: boolean): CommandHandler {
  return (ctx, cmd, corr) => {
    const client = findNamed(ctx, command, cmd, corr, CLIENT);
    if (client === null) return;
    client.disabled = disabled;
    if (disabled) ctx.kick(client.username);
    ctx.save();
    reply(ctx, command, null, corr);
    ctx.log(`${command} | username=${client.username}`);
  };
}

const setClientId: CommandHandler = (ctx, cmd, corr) => {
  const c = 'setClientId';
  const username = requireName(ctx, c, cmd, 'username', 'Username', corr);
  if (username === null) return;
  const clientid = getString(cmd, 'clientid', true);
  if (clientid === null) return reply(ctx, c, 'Invalid/missing client ID', corr);
  if (clientid !== undefined && !validUtf8(clientid)) return reply(ctx, c, 'Client ID not valid UTF-8', corr);
  const client = ctx.data.findClient(username);
  if (client === undefined) return reply(ctx, c, 'Client not found', corr);
  client.clientid = clientid === '' ? undefined : clientid;
  ctx.save();
  reply(ctx, c, null, corr);
  ctx.kick(username);
  ctx.log(`setClientId | username=${username} | clientid=${client.clientid ?? '(null)'}`);
};

const setClientPassword: CommandHandler = (ctx, cmd, corr) => {
  const c = 'setClientPassword';
  const username = requireName(ctx, c, cmd, 'username', 'Username', corr);
  if (username === null) return;
  const password = getString(cmd, 'password', false);
  if (typeof password !== 'string') return reply(ctx, c, 'Invalid/missing password', corr);
  if (password === '') return reply(ctx, c, 'Empty password is not allowed', corr);
  const client = ctx.data.findClient(username);
  if (client === undefined) return reply(ctx, c, 'Client not found', corr);
  client.password = hashPassword(password);
  ctx.save();
  reply(ctx, c, null, corr);
  ctx.kick(username);
  ctx.log(`setClientPassword | username=${username} | password=******`);
};

const modifyClient: CommandHandler = (ctx, cmd, corr) => {
  const c = 'modifyClient';
  const client = findNamed(ctx, c, cmd, corr, CLIENT);
  if (client === null) return;
  const clientid = getString(cmd, 'clientid', false);
  if (typeof clientid === 'string') client.clientid = clientid === '' ? undefined : clientid;
  const password = getString(cmd, 'password', false);
  // An empty password is ignored rather than refused.
  if (typeof password === 'string' && password !== '') client.password = hashPassword(password);
  const textname = getString(cmd, 'textname', false);
  if (typeof textname === 'string') client.textname = textname;
  const textdescription = getString(cmd, 'textdescription', false);
  if (typeof textdescription === 'string') client.textdescription = textdescription;
  const roles = loadRoleLinks(ctx.data, cmd);
  if (roles === 'not-found' || roles === 'invalid') {
    reply(ctx, c, roles === 'not-found' ? 'Role not found' : ROLES_INVALID, corr);
    ctx.kick(client.username);
    return;
  }
  if (roles !== 'absent') ctx.data.setClientRoles(client, roles);
  if (Array.isArray(member(cmd, 'groups'))) {
    for (const link of [...client.groups]) ctx.data.removeGroupClient(link.group, client);
    joinGroups(ctx, client, cmd, false);
  }
  ctx.save();
  reply(ctx, c, null, corr);
  ctx.kick(client.username);
  ctx.log(`modifyClient | username=${client.username}`);
};

function clientJson(client: Client, verbose: boolean): JsonObject | string {
  if (!verbose) return client.username;
  const out = clientHead(client);
  out.roles = rolesJson(client.roles);
  out.groups = groupsJson(client.groups);
  return out;
}

const getClient: CommandHandler = (ctx, cmd, corr) => {
  const client = findNamed(ctx, 'getClient', cmd, corr, CLIENT);
  if (client === null) return;
  replyData(ctx, 'getClient', { client: clientJson(client, true) }, corr);
  ctx.log(`getClient | username=${client.username}`);
};

function roleCommand(command: string, add: boolean): CommandHandler {
  return (ctx, cmd, corr) => {
    const names = linkNames(ctx, command, cmd, corr, CLIENT, ROLE);
    if (names === null) return;
    const { first: username, second: rolename, priority } = names;
    const client = ctx.data.findClient(username);
    if (client === undefined) return reply(ctx, command, 'Client not found', corr);
    const role = ctx.data.findRole(rolename);
    if (role === undefined) return reply(ctx, command, 'Role not found', corr);
    if (add) {
      if (!ctx.data.addClientRole(client, role, priority)) return reply(ctx, command, 'Internal error', corr);
    } else ctx.data.removeClientRole(client, role);
    ctx.save();
    reply(ctx, command, null, corr);
    ctx.kick(username);
    ctx.log(
      add
        ? `addClientRole | username=${username} | rolename=${rolename} | priority=${priority}`
        : `removeClientRole | username=${username} | rolename=${rolename}`,
    );
  };
}

export const clientCommands: Record<string, CommandHandler> = {
  createClient,
  deleteClient,
  enableClient: setDisabled('enableClient', false),
  disableClient: setDisabled('disableClient', true),
  setClientId,
  setClientPassword,
  modifyClient,
  getClient,
  listClients: listCommand('listClients', 'clients', (data) => data.clients, clientJson),
  addClientRole: roleCommand('addClientRole', true),
  removeClientRole: roleCommand('removeClientRole', false),
};
