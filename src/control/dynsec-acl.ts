// Access decisions as Mosquitto's dynamic-security plugin makes them: the client's roles (priority order), then
// its groups' roles (group priority order), then the anonymous group for clients without a username; the first
// matching ACL decides. With no match the default access applies, except that `$CONTROL` is never granted by
// default. An unknown username has no opinion (the broker then denies unless another source allows).

import type { AccessKind, ClientInfo } from '../broker/hooks.js';
import type { Acl, DefaultAccess, DynsecData, RoleLink } from './dynsec-model.js';

type Outcome = boolean | undefined;

const NO_LEVELS: readonly string[] = [];

/**
 * One topic level of an ACL, with 2.1's `%c` / `%u` substitution (a level that is exactly `%c` or `%u`).
 * A client id or username holding a wildcard never matches through a pattern.
 */
function level(acl: string, client: ClientInfo): string | null {
  if (acl === '%c') return /[+#]/.test(client.clientId) ? null : client.clientId;
  if (acl === '%u') {
    const u = client.username;
    return u === undefined || /[+#]/.test(u) ? null : u;
  }
  return acl;
}

/** mosquitto_topic_matches_sub with patterns: a topic name against an ACL filter; `$` topics need a `$` ACL. */
function publishMatches(acl: Acl, topic: readonly string[], client: ClientInfo): boolean {
  const a = acl.levels;
  if ((topic[0] as string).charCodeAt(0) === 0x24 && acl.topic.charCodeAt(0) !== 0x24) return false;
  for (let i = 0; i < a.length; i++) {
    const want = level(a[i] as string, client);
    if (want === null) return false;
    if (want === '#') return i === a.length - 1;
    if (i >= topic.length) return false;
    if (want !== '+' && want !== topic[i]) return false;
  }
  return a.length === topic.length;
}

/**
 * sub_acl_check: may subscription filter `sub` be taken under ACL filter `acl`? Levels compare literally, `+` in
 * the ACL covers one level (also a `+` in the filter), a trailing `#` in the ACL covers the rest; a filter ending
 * in `#` needs an ACL ending in `#`. Unlike publish matching, `$` topics get no special treatment.
 */
function subscriptionMatches(aclFilter: string, sub: string, client: ClientInfo): boolean {
  if (aclFilter === '#') return true;
  let acl = aclFilter;
  let s = sub;
  const aclHash = acl === '#' || acl.endsWith('/#');
  if (aclHash) acl = acl.length === 1 ? '' : acl.slice(0, -2);
  const subHash = s === '#' || s.endsWith('/#');
  if (subHash) s = s.length === 1 ? '' : s.slice(0, -2);
  if (subHash && !aclHash) return false;
  const a = acl.split('/');
  const t = s.split('/');
  if (a.length > t.length) return false;
  if (t.length > a.length && !aclHash) return false;
  for (let i = 0; i < t.length; i++) {
    if (i < a.length) {
      const want = level(a[i] as string, client);
      if (want === null) return false;
      if (want !== '+' && want !== t[i]) return false;
    }
  }
  return true;
}

function firstMatch(acls: readonly Acl[], test: (acl: Acl) => boolean): Outcome {
  for (const acl of acls) if (test(acl)) return acl.allow;
  return undefined;
}

function checkRoles(
  links: readonly RoleLink[],
  kind: AccessKind,
  topic: string,
  levels: readonly string[],
  client: ClientInfo,
): Outcome {
  for (const { role } of links) {
    let outcome: Outcome;
    if (kind === 'write' || kind === 'read') {
      const acls = role.acls[kind === 'write' ? 'publishClientSend' : 'publishClientReceive'];
      for (let i = 0; i < acls.length && outcome === undefined; i++) {
        const acl = acls[i] as Acl;
        if (publishMatches(acl, levels, client)) outcome = acl.allow;
      }
    } else {
      const sub = kind === 'subscribe';
      // 2.1: a role that forbids wildcard subscriptions refuses them before looking at its ACLs.
      if (sub && !role.allowWildcardSubs && /[+#]/.test(topic)) return false;
      // A literal ACL is looked up by exact topic before the patterns, whatever their priorities.
      const literal = role.acls[sub ? 'subscribeLiteral' : 'unsubscribeLiteral'].find(
        (a) => a.topic === topic,
      );
      outcome =
        literal !== undefined
          ? literal.allow
          : firstMatch(role.acls[sub ? 'subscribePattern' : 'unsubscribePattern'], (a) =>
              subscriptionMatches(a.topic, topic, client),
            );
    }
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

function defaultFor(access: DefaultAccess, kind: AccessKind): boolean {
  switch (kind) {
    case 'write':
      return access.publishClientSend;
    case 'read':
      return access.publishClientReceive;
    case 'subscribe':
      return access.subscribe;
    default:
      return access.unsubscribe;
  }
}

/** true = allow, false = deny, undefined = defer (Mosquitto's MOSQ_ERR_PLUGIN_DEFER). */
export function decide(data: DynsecData, client: ClientInfo, kind: AccessKind, topic: string): Outcome {
  // Split once per check; the ACLs carry their levels already.
  const levels = kind === 'write' || kind === 'read' ? topic.split('/') : NO_LEVELS;
  if (client.username !== undefined) {
    const entry = data.findClient(client.username);
    if (entry === undefined) return undefined;
    const own = checkRoles(entry.roles, kind, topic, levels, client);
    if (own !== undefined) return own;
    for (const { group } of entry.groups) {
      const viaGroup = checkRoles(group.roles, kind, topic, levels, client);
      if (viaGroup !== undefined) return viaGroup;
    }
  } else if (data.anonymousGroup !== undefined) {
    const anonymous = checkRoles(data.anonymousGroup.roles, kind, topic, levels, client);
    if (anonymous !== undefined) return anonymous;
  }
  if (!defaultFor(data.defaultAccess, kind)) return undefined;
  // Control topics must be granted explicitly.
  return topic.startsWith('$CONTROL') ? undefined : true;
}
