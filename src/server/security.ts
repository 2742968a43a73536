// Builds the broker's authentication / authorization hooks from password and ACL files.

import { AclFile } from '../auth/acl-file.js';
import { fileAuthenticator, fileAuthorizer } from '../auth/authenticator.js';
import { PasswordFile } from '../auth/password-file.js';
import type { BrokerHooks } from '../broker/hooks.js';
import type { Logger } from '../broker/logger.js';
import type { SecurityOptions } from '../broker/options.js';

/**
 * Loads the files named in one security scope; throws the auth layer's typed error when one is unreadable.
 * Password-file entries the broker skips are logged as Mosquitto logs them, at start and on every reload.
 */
export function hooksFromFiles(
  security: SecurityOptions,
  logger: Logger,
  base: BrokerHooks = {},
): BrokerHooks {
  const hooks: BrokerHooks = { ...base };
  if (security.passwordFile !== undefined) {
    const passwords = PasswordFile.load(security.passwordFile);
    for (const w of passwords.warnings) logger.log(w.level, w.logLine);
    const authenticator = fileAuthenticator(passwords);
    hooks.authenticate = (req) => {
      const request: Parameters<typeof authenticator.authenticate>[0] = { clientId: req.clientId };
      if (req.username !== undefined) request.username = req.username;
      if (req.password !== undefined) request.password = req.password;
      return authenticator.authenticate(request);
    };
  }
  if (security.aclFile !== undefined) {
    const authorizer = fileAuthorizer(AclFile.load(security.aclFile));
    hooks.authorize = (client, access, topic) =>
      authorizer.authorize(access, client.clientId, client.username, topic);
  }
  return hooks;
}
