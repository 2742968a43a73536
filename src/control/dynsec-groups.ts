// Group commands of `$CONTROL/dynamic-security/v1`, including the anonymous group.

import { groupHead, rolesJson } from './dynsec-codec.js';
import {
  CLIENT,
  type CommandHandler,
  findNamed,
  GROUP,
  kickGroup,
  linkNames,
  listCommand,
  loadRoleLinks,
  newNamed,
  ROLE,
  ROLES_INVALID,
  reply,
  replyData,
} from './dynsec-command.js';
import { type Group, newGroup } from './dynsec-model.js';
import { getInt, isObject, type JsonObject, member } from './json-get.js';

/** getGroup / listGroups verbose: groupname, texts, clients (usernames only), roles. */
function groupJson(group: Group): JsonObject {
  const out = groupHead(group);
  out.clients = group.clients.map((l) => ({ username: l.client.username }));
  out.roles = rolesJson(group.roles);
  return out;
}

const createGroup: CommandHandler = (ctx, cmd, corr) => {
  const c = 'createGroup';
  const named = newNamed(ctx, c, cmd, corr, GROUP, 'Group already exists');
  if (named === null) return;
  const { name, textname, textdescription } = named;
  const roles = loadRoleLinks(ctx.data, cmd);
  if (roles === 'not-found') return reply(ctx, c, 'Role not found', corr);
  if (roles === 'invalid') return reply(ctx, c, 'Internal error', corr);
  const group = newGroup(name);
  group.textname = textname;
  group.textdescription = textdescription;
  if (roles !== 'absent') ctx.data.setGroupRoles(group, roles);
  ctx.data.addGroup(group);
  ctx.log(`createGroup | groupname=${name}`);
  ctx.save();
  reply(ctx, c, null, corr);
};

const deleteGroup: CommandHandler = (ctx, cmd, corr) => {
  const group = findNamed(ctx, 'deleteGroup', cmd, corr, GROUP);
  if (group === null) return;
  kickGroup(ctx, group);
  ctx.data.deleteGroup(group);
  ctx.save();
  reply(ctx, 'deleteGroup', null, corr);
  ctx.log(`deleteGroup | groupname=${group.groupname}`);
};

const modifyGroup: CommandHandler = (ctx, cmd, corr) => {
  const c = 'modifyGroup';
  const group = findNamed(ctx, c, cmd, corr, GROUP);
  if (group === null) return;
  const textname = member(cmd, 'textname');
  if (typeof textname === 'string') group.textname = textname;
  const textdescription = member(cmd, 'textdescription');
  if (typeof textdescription === 'string') group.textdescription = textdescription;
  const roles = loadRoleLinks(ctx.data, cmd);
  if (roles === 'not-found' || roles === 'invalid') {
    reply(ctx, c, roles === 'not-found' ? 'Role not found' : ROLES_INVALID, corr);
    kickGroup(ctx, group);
    return;
  }
  if (roles !== 'absent') ctx.data.setGroupRoles(group, roles);
  const clients = member(cmd, 'clients');
  if (Array.isArray(clients)) {
    for (const link of [...group.clients]) ctx.data.removeGroupClient(group, link.client);
    for (const item of clients) {
      if (!isObject(item)) continue;
      const username = member(item, 'username');
      const client = typeof username === 'string' ? ctx.data.findClient(username) : undefined;
      if (client !== undefined) ctx.data.addGroupClient(group, client, getInt(item, 'priority', -1));
    }
  }
  ctx.save();
  reply(ctx, c, null, corr);
  kickGroup(ctx, group);
  ctx.log(`modifyGroup | groupname=${group.groupname}`);
};

const getGroup: CommandHandler = (ctx, cmd, corr) => {
  const group = findNamed(ctx, 'getGroup', cmd, corr, GROUP);
  if (group === null) return;
  replyData(ctx, 'getGroup', { group: groupJson(group) }, corr);
  ctx.log(`getGroup | groupname=${group.groupname}`);
};

function clientCommand(command: string, add: boolean): CommandHandler {
  return (ctx, cmd, corr) => {
    const names = linkNames(ctx, command, cmd, corr, CLIENT, GROUP);
    if (names === null) return;
    const { first: username, second: groupname, priority } = names;
    const client = ctx.data.findClient(username);
    const group = ctx.data.findGroup(groupname);
    if (client === undefined) reply(ctx, command, 'Client not found', corr);
    else if (group === undefined) reply(ctx, command, 'Group not found', corr);
    else if (add && !ctx.data.addGroupClient(group, client, priority))
      reply(ctx, command, 'Client is already in this group', corr);
    else {
      if (!add) ctx.data.removeGroupClient(group, client);
      ctx.save();
      ctx.log(
        add
          ? `addGroupClient | groupname=${groupname} | username=${username} | priority=${priority}`
          : `removeGroupClient | groupname=${groupname} | username=${username}`,
      );
      reply(ctx, command, null, corr);
    }
    // Kicked whatever the outcome, as the plugin does.
    ctx.kick(username);
  };
}

function roleCommand(command: string, add: boolean): CommandHandler {
  return (ctx, cmd, corr) => {
    const names = linkNames(ctx, command, cmd, corr, GROUP, ROLE);
    if (names === null) return;
    const { first: groupname, second: rolename, priority } = names;
    const group = ctx.data.findGroup(groupname);
    if (group === undefined) return reply(ctx, command, 'Group not found', corr);
    const role = ctx.data.findRole(rolename);
    if (role === undefined) return reply(ctx, command, 'Role not found', corr);
    if (add) {
      if (!ctx.data.addGroupRole(group, role, priority))
        return reply(ctx, command, 'Group is already in this role', corr);
      ctx.log(`addGroupRole | groupname=${groupname} | rolename=${rolename} | priority=${priority}`);
    } else ctx.data.removeGroupRole(group, role);
    ctx.save();
    reply(ctx, command, null, corr);
    kickGroup(ctx, group);
    if (!add) ctx.log(`removeGroupRole | groupname=${groupname} | rolename=${rolename}`);
  };
}

const setAnonymousGroup: CommandHandler = (ctx, cmd, corr) => {
  const group = findNamed(ctx, 'setAnonymousGroup', cmd, corr, GROUP);
  if (group === null) return;
  ctx.data.anonymousGroup = group;
  ctx.save();
  reply(ctx, 'setAnonymousGroup', null, corr);
  ctx.kick(null);
  ctx.log(`setAnonymousGroup | groupname=${group.groupname}`);
};

const getAnonymousGroup: CommandHandler = (ctx, _cmd, corr) => {
  const groupname = ctx.data.anonymousGroup?.groupname ?? '';
  replyData(ctx, 'getAnonymousGroup', { group: { groupname } }, corr);
  ctx.log('getAnonymousGroup');
};

export const groupCommands: Record<string, CommandHandler> = {
  createGroup,
  deleteGroup,
  modifyGroup,
  getGroup,
  listGroups: listCommand(
    'listGroups',
    'groups',
    (data) => data.groups,
    (g, verbose) => (verbose ? groupJson(g) : g.groupname),
  ),
  addGroupClient: clientCommand('addGroupClient', true),
  removeGroupClient: clientCommand('removeGroupClient', false),
  addGroupRole: roleCommand('addGroupRole', true),
  removeGroupRole: roleCommand('removeGroupRole', false),
  setAnonymousGroup,
  getAnonymousGroup,
};
