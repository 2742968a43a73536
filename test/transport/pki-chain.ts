// A certificate chain root -> intermediate -> client leaves, with CRLs made by `openssl ca -gencrl`, for the
// crlfile tests. The server certificate comes from the root, so clients trust the root only.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/processes.js';
import { issue, openssl, selfSignedCa } from './pki.js';

export interface ChainPki {
  readonly dir: string;
  readonly rootCert: string;
  /** Root and intermediate, as a listener's cafile. */
  readonly chainCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly good: { cert: string; key: string };
  readonly revoked: { cert: string; key: string };
  /** Writes a CRL of `ca` ("root" or "inter") revoking `revoke` (certificate files) and returns its path. */
  crl(ca: 'root' | 'inter', revoke: readonly string[], name: string, window?: [string, string]): string;
}

const CA_EXT = 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n';

export function makeChainPki(): ChainPki {
  const dir = tempDir('culex-crl-');
  const rootCert = selfSignedCa(dir, 'root', 'Culex Root CA');
  const interCert = issue(dir, 'inter', '/CN=Culex Intermediate CA', 'root', '30', CA_EXT);
  const serverCert = issue(
    dir,
    'server',
    '/CN=localhost',
    'root',
    '30',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  const good = issue(dir, 'good', '/CN=good', 'inter', '30');
  const revoked = issue(dir, 'revoked', '/CN=revoked', 'inter', '30');
  const chainCa = join(dir, 'chain.crt');
  writeFileSync(chainCa, readFileSync(rootCert, 'utf8') + readFileSync(interCert, 'utf8'));
  let n = 0;
  return {
    dir,
    rootCert,
    chainCa,
    serverCert,
    serverKey: join(dir, 'server.key'),
    good: { cert: good, key: join(dir, 'good.key') },
    revoked: { cert: revoked, key: join(dir, 'revoked.key') },
    crl(ca, revoke, name, window) {
      // A fresh database each time, so each CRL revokes exactly the given certificates.
      const db = `db-${n++}`;
      writeFileSync(join(dir, `${db}.idx`), '');
      writeFileSync(join(dir, `${db}.num`), '01\n');
      const conf = join(dir, `${db}.cnf`);
      writeFileSync(
        conf,
        [
          '[ca]',
          'default_ca=d',
          '[d]',
          `database=${db}.idx`,
          `crlnumber=${db}.num`,
          `certificate=${ca}.crt`,
          `private_key=${ca}.key`,
          'default_md=sha256',
          'default_crl_days=30',
          '',
        ].join('\n'),
      );
      for (const cert of revoke) openssl(dir, ['ca', '-config', conf, '-revoke', cert]);
      const args = ['ca', '-config', conf, '-gencrl', '-out', name];
      if (window !== undefined) args.push('-crl_lastupdate', window[0], '-crl_nextupdate', window[1]);
      openssl(dir, args);
      return join(dir, name);
    },
  };
}
