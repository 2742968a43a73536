// The hooks the broker calls to authenticate CONNECTs and authorise topic access, plus file-backed versions.

import type { AclAccess, AclFile } from './acl-file.js';
import { dollarTopicAllowed } from './dollar-topics.js';
import type { PasswordFile } from './password-file.js';

export type { AclAccess } from './acl-file.js';

export interface AuthRequest {
  clientId: string;
  username?: string;
  password?: Buffer;
  listenerPort?: number;
  remoteAddress?: string;
}

export interface Authenticator {
  /** Resolve true to accept the credentials; false maps to CONNACK "bad username or password". */
  authenticate(req: AuthRequest): boolean | Promise<boolean>;
}

export interface Authorizer {
  authorize(access: AclAccess, clientId: string, username: string | undefined, topic: string): boolean;
}

/**
 * Accepts a username/password pair found in the password file. Requests without a username are
 * refused here: whether anonymous clients get in is the broker's `allow_anonymous` decision, taken first.
 */
export function fileAuthenticator(passwords: PasswordFile): Authenticator {
  return {
    authenticate(req: AuthRequest): Promise<boolean> {
      if (req.username === undefined) return Promise.resolve(false);
      // A user listed in the file but sending no password is refused, as in Mosquitto.
      return passwords
        .verify(req.username, req.password ?? Buffer.alloc(0))
        .then((ok) => ok && req.password !== undefined);
    },
  };
}

/** Applies Mosquitto's built-in `$SYS`/`$share` rules, then the ACL file. */
export function fileAuthorizer(acl: AclFile): Authorizer {
  return {
    authorize(access, clientId, username, topic): boolean {
      return dollarTopicAllowed(access, topic) && acl.check(access, clientId, username, topic);
    },
  };
}
