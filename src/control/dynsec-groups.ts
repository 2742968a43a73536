// Group commands of `$CONTROL/dynamic-security/v1`, including the anonymous group.

import { groupHead, rolesJson } from './dynsec-codec.js';
import {
  type CommandContext,
  type CommandHandler,
  findNamed,
  kickGroup,
  loadRoleLinks,
  type NamedKind,
  optionalTexts,
  page,
  reply,
  replyData,
  requireName,
} from './dynsec-command.js';
import { type Group, newGroup } from './dynsec-model.js';
import { getInt, isObject, type JsonObject, member } from './json-get.js';

const GROUP: NamedKind<Group> = {
  key: 'groupname',
  label: 'Group name',
  missing: 'Group not found',
  find: (ctx, name) => ctx.data.findGroup(name),
};

/** The named group, or null after replying why not. */
function findGroup(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  corr: string | undefined,
): Group | null {
  return findNamed(ctx, command, cmd, corr, GROUP);
}

/** getGroup / listGroups verbose: groupname, texts, clients (usernames only), roles. */
function groupJson(group: Group): JsonObject {
  const out = groupHead(group);
  out.clients = group.clients.map((l) => ({ username: l.client.username }));
  out.roles = rolesJson(group.roles);
  return out;
}

const createGroup: CommandHandler = (ctx, cmd, corr) => {
  const c = 'createGroup';
  const name = requireName(ctx, c, cmd, 'groupname', 'Group name', corr);
  if (name === null) return;
  const texts = optionalTexts(ctx, c, cmd, corr);
  if (texts === false) return;
  const { textname, textdescription } = texts;
  if (ctx.data.findGroup(name) !== undefined) return reply(ctx, c, 'Group already exists', corr);
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
  const group = findGroup(ctx, 'deleteGroup', cmd, corr);
  if (group === null) return;
  kickGroup(ctx, group);
  ctx.data.deleteGroup(group);
  ctx.save();
  reply(ctx, 'deleteGroup', null, corr);
  ctx.log(`deleteGroup | groupname=${group.groupname}`);
};

const modifyGroup: CommandHandler = (ctx, cmd, corr) => {
  const c = 'modifyGroup';
  const group = findGroup(ctx, c, cmd, corr);
  if (group === null) return;
  const textname = member(cmd, 'textname');
  if (typeof textname === 'string') group.textname = textname;
  const textdescription = member(cmd, 'textdescription');
  if (typeof textdescription === 'string') group.textdescription = textdescription;
  const roles = loadRoleLinks(ctx.data, cmd);
  if (roles === 'not-found' || roles === 'invalid') {
    reply(
      ctx,
      c,
      roles === 'not-found' ? 'Role not found' : "'roles' not an array or missing/invalid rolename",
      corr,
    );
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
  const group = findGroup(ctx, 'getGroup', cmd, corr);
  if (group === null) return;
  replyData(ctx, 'getGroup', { group: groupJson(group) }, corr);
  ctx.log(`getGroup | groupname=${group.groupname}`);
};

const listGroups: CommandHandler = (ctx, cmd, corr) => {
  const { out, verbose, count, offset } = page(ctx.data.groups, cmd);
  const groups = out.map((g) => (verbose ? groupJson(g) : g.groupname));
  replyData(ctx, 'listGroups', { totalCount: ctx.data.groups.length, groups }, corr);
  ctx.log(`listGroups | verbose=${verbose} | count=${count} | offset=${offset}`);
};

function clientCommand(command: string, add: boolean): CommandHandler {
  return (ctx, cmd, corr) => {
    const username = requireName(ctx, command, cmd, 'username', 'Username', corr);
    if (username === null) return;
    const groupname = requireName(ctx, command, cmd, 'groupname', 'Group name', corr);
    if (groupname === null) return;
    const priority = getInt(cmd, 'priority', -1);
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
    const groupname = requireName(ctx, command, cmd, 'groupname', 'Group name', corr);
    if (groupname === null) return;
    const rolename = requireName(ctx, command, cmd, 'rolename', 'Role name', corr);
    if (rolename === null) return;
    const priority = getInt(cmd, 'priority', -1);
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
  const group = findGroup(ctx, 'setAnonymousGroup', cmd, corr);
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
  listGroups,
  addGroupClient: clientCommand('addGroupClient', true),
  removeGroupClient: clientCommand('removeGroupClient', false),
  addGroupRole: roleCommand('addGroupRole', true),
  removeGroupRole: roleCommand('removeGroupRole', false),
  setAnonymousGroup,
  getAnonymousGroup,
};
