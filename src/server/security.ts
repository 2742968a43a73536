// Builds the broker's authentication / authorization hooks from password and ACL files.

import { type AclAccess, AclFile } from '../auth/acl-file.js';
import { PasswordFile } from '../auth/password-file.js';
import type { BrokerHooks } from '../broker/hooks.js';
import type { SecurityOptions } from '../broker/options.js';

/** Loads the files named in one security scope; throws the auth layer's typed error when one is unreadable. */
export function hooksFromFiles(security: SecurityOptions, base: BrokerHooks = {}): BrokerHooks {
  const hooks: BrokerHooks = { ...base };
  if (security.passwordFile !== undefined) {
    const passwords = PasswordFile.load(security.passwordFile);
    hooks.authenticate = (req) =>
      req.username === undefined ? false : passwords.verify(req.username, req.password ?? Buffer.alloc(0));
  }
  if (security.aclFile !== undefined) {
    const acl = AclFile.load(security.aclFile);
    hooks.authorize = (client, access, topic) => acl.check(access as AclAccess, client.clientId, client.username, topic);
  }
  return hooks;
}
