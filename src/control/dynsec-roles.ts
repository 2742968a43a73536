// Role commands of `$CONTROL/dynamic-security/v1`, and the default ACL access commands.

import { checkFilterSyntax } from '../protocol/topic.js';
import { loadAcls, roleJson } from './dynsec-codec.js';
import {
  type CommandContext,
  type CommandHandler,
  findNamed,
  kickRole,
  listCommand,
  newNamed,
  ROLE,
  reply,
  replyData,
  validUtf8,
} from './dynsec-command.js';
import { ACL_TYPES, type AclType, addAcl, emptyAcls, makeAcl, newRole, type Role } from './dynsec-model.js';
import { getBool, getInt, getString, isObject, type JsonObject, member } from './json-get.js';

/** The named role, or null after replying why not. */
function findRole(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  corr: string | undefined,
  missing?: string,
): Role | null {
  return findNamed(ctx, command, cmd, corr, ROLE, missing);
}

function aclType(value: unknown): AclType | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return ACL_TYPES.find((t) => t.toLowerCase() === lower);
}

const createRole: CommandHandler = (ctx, cmd, corr) => {
  const c = 'createRole';
  const named = newNamed(ctx, c, cmd, corr, ROLE, 'Role already exists');
  if (named === null) return;
  const { name, textname, textdescription } = named;
  const role = newRole(name);
  role.textname = textname;
  role.textdescription = textdescription;
  role.allowWildcardSubs = getBool(cmd, 'allowwildcardsubs', true);
  const acls = member(cmd, 'acls');
  if (Array.isArray(acls)) loadAcls(role, acls);
  ctx.data.addRole(role);
  ctx.save();
  reply(ctx, c, null, corr);
  ctx.log(`createRole | rolename=${name}`);
};

const deleteRole: CommandHandler = (ctx, cmd, corr) => {
  const role = findRole(ctx, 'deleteRole', cmd, corr);
  if (role === null) return;
  kickRole(ctx, role);
  ctx.data.deleteRole(role);
  ctx.save();
  reply(ctx, 'deleteRole', null, corr);
  ctx.log(`deleteRole | rolename=${role.rolename}`);
};

const modifyRole: CommandHandler = (ctx, cmd, corr) => {
  const role = findRole(ctx, 'modifyRole', cmd, corr, 'Role does not exist');
  if (role === null) return;
  const textname = member(cmd, 'textname');
  if (typeof textname === 'string') role.textname = textname;
  const textdescription = member(cmd, 'textdescription');
  if (typeof textdescription === 'string') role.textdescription = textdescription;
  const wildcards = member(cmd, 'allowwildcardsubs');
  if (typeof wildcards === 'boolean') role.allowWildcardSubs = wildcards;
  const acls = member(cmd, 'acls');
  if (Array.isArray(acls)) {
    role.acls = emptyAcls();
    loadAcls(role, acls);
  }
  ctx.save();
  reply(ctx, 'modifyRole', null, corr);
  ctx.log(`modifyRole | rolename=${role.rolename}`);
};

const getRole: CommandHandler = (ctx, cmd, corr) => {
  const role = findRole(ctx, 'getRole', cmd, corr);
  if (role === null) return;
  replyData(ctx, 'getRole', { role: roleJson(role) }, corr);
};

/** The role, ACL type and validated topic of addRoleACL / removeRoleACL; null after replying. */
function aclTarget(
  ctx: CommandContext,
  command: string,
  cmd: JsonObject,
  corr: string | undefined,
): { role: Role; type: AclType; typeName: string; topic: string } | null {
  const role = findRole(ctx, command, cmd, corr);
  if (role === null) return null;
  const typeName = member(cmd, 'acltype');
  if (typeof typeName !== 'string') {
    reply(ctx, command, 'Invalid/missing acltype', corr);
    return null;
  }
  const type = aclType(typeName);
  if (type === undefined) {
    reply(ctx, command, 'Unknown acltype', corr);
    return null;
  }
  const topic = getString(cmd, 'topic', false);
  if (typeof topic !== 'string') {
    reply(ctx, command, 'Invalid/missing topic', corr);
    return null;
  }
  if (!validUtf8(topic)) {
    reply(ctx, command, 'Topic not valid UTF-8', corr);
    return null;
  }
  if (checkFilterSyntax(topic) !== null && topic !== '') {
    reply(ctx, command, 'Invalid ACL topic', corr);
    return null;
  }
  return { role, type, typeName, topic };
}

const addRoleACL: CommandHandler = (ctx, cmd, corr) => {
  const c = 'addRoleACL';
  const target = aclTarget(ctx, c, cmd, corr);
  if (target === null) return;
  const { role, type, typeName, topic } = target;
  if (role.acls[type].some((a) => a.topic === topic))
    return reply(ctx, c, 'ACL with this topic already exists', corr);
  const acl = makeAcl(topic, getInt(cmd, 'priority', 0), getBool(cmd, 'allow', false));
  addAcl(role, type, acl);
  ctx.save();
  reply(ctx, c, null, corr);
  kickRole(ctx, role);
  ctx.log(
    `addRoleACL | rolename=${role.rolename} | acltype=${typeName} | topic=${topic} | priority=${acl.priority} | allow=${acl.allow}`,
  );
};

const removeRoleACL: CommandHandler = (ctx, cmd, corr) => {
  const c = 'removeRoleACL';
  const target = aclTarget(ctx, c, cmd, corr);
  if (target === null) return;
  const { role, type, typeName, topic } = target;
  const list = role.acls[type];
  const index = list.findIndex((a) => a.topic === topic);
  if (index < 0) return reply(ctx, c, 'ACL not found', corr);
  list.splice(index, 1);
  ctx.save();
  reply(ctx, c, null, corr);
  kickRole(ctx, role);
  ctx.log(`removeRoleACL | rolename=${role.rolename} | acltype=${typeName} | topic=${topic}`);
};

const DEFAULT_KEYS = ['publishClientSend', 'publishClientReceive', 'subscribe', 'unsubscribe'] as const;

const setDefaultACLAccess: CommandHandler = (ctx, cmd, corr) => {
  const c = 'setDefaultACLAccess';
  const acls = member(cmd, 'acls');
  if (!Array.isArray(acls)) return reply(ctx, c, 'Missing/invalid actions array', corr);
  for (const item of acls) {
    if (!isObject(item)) continue;
    const type = member(item, 'acltype');
    const allow = member(item, 'allow');
    if (typeof type !== 'string' || typeof allow !== 'boolean') continue;
    const key = DEFAULT_KEYS.find((k) => k.toLowerCase() === type.toLowerCase());
    if (key !== undefined) ctx.data.defaultAccess[key] = allow;
    ctx.log(`setDefaultACLAccess | acltype=${type} | allow=${allow}`);
  }
  ctx.save();
  reply(ctx, c, null, corr);
};

const getDefaultACLAccess: CommandHandler = (ctx, _cmd, corr) => {
  ctx.log('getDefaultACLAccess');
  const acls = DEFAULT_KEYS.map((k) => ({ acltype: k, allow: ctx.data.defaultAccess[k] }));
  replyData(ctx, 'getDefaultACLAccess', { acls }, corr);
};

export const roleCommands: Record<string, CommandHandler> = {
  createRole,
  deleteRole,
  modifyRole,
  getRole,
  listRoles: listCommand(
    'listRoles',
    'roles',
    (data) => data.roles,
    (r, verbose) => (verbose ? roleJson(r) : r.rolename),
  ),
  addRoleACL,
  removeRoleACL,
  setDefaultACLAccess,
  getDefaultACLAccess,
};
