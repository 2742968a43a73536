// Culex-only: TLS files reloaded when they change on disk, not only on SIGHUP (what cert-manager and Let's Encrypt
// renewals need). The directories holding them are watched, so a file replaced by rename or a swapped symlink
// (Kubernetes secret volumes, certbot's live/ links) is seen; after a quiet period the files' contents are compared
// with the last ones loaded, and only a real change reloads. The reload itself validates everything first and keeps
// the old contexts when a file is unusable (Broker.prepareTlsReload), so a half-written renewal changes nothing
// and the next write tries again.

import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../broker/logger.js';
import type { ListenerOptions } from '../transport/listener-options.js';

/** Quiet time after the last change in a watched directory before the files are read. */
export const CERT_WATCH_DEBOUNCE_MS = 500;

export interface CertificateWatchDeps {
  /** The certificate, key, CA and CRL files to follow. */
  readonly files: readonly string[];
  /** Reads every TLS file again and makes them live if all are usable (logs why not otherwise). */
  readonly reload: () => void;
  readonly logger: Logger;
  readonly debounceMs?: number;
}

/** certfile, keyfile, cafile and crlfile of every TLS listener, once each. */
export function tlsFilesOf(listeners: readonly ListenerOptions[]): string[] {
  const files = new Set<string>();
  for (const l of listeners) {
    const tls = l.tls;
    if (tls === undefined) continue;
    for (const f of [tls.certfile, tls.keyfile, tls.cafile, tls.crlfile]) if (f !== undefined) files.add(f);
  }
  return [...files];
}

function fingerprint(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      hash.update(readFileSync(file));
    } catch (err) {
      hash.update(`missing:${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

export class CertificateWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private loaded: string;

  constructor(private readonly deps: CertificateWatchDeps) {
    this.loaded = fingerprint(deps.files);
    const onEvent = (): void => this.schedule();
    for (const dir of new Set(deps.files.map((f) => dirname(f)))) {
      try {
        const watcher = watch(dir, { persistent: false }, onEvent);
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch (err) {
        deps.logger.log('warning', `Warning: unable to watch ${dir} for certificate changes: ${String(err)}`);
      }
    }
  }

  /** A SIGHUP reload read the files too: later comparisons start from what is loaded now. */
  reloaded(): void {
    this.loaded = fingerprint(this.deps.files);
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watchers.splice(0)) w.close();
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), this.deps.debounceMs ?? CERT_WATCH_DEBOUNCE_MS);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    const now = fingerprint(this.deps.files);
    if (now === this.loaded) return;
    this.loaded = now;
    this.deps.logger.log(
      'notice',
      'TLS certificate, key, CA or CRL file changed on disk: reloading the TLS listeners.',
    );
    try {
      this.deps.reload();
    } catch (err) {
      // E.g. the configuration file no longer parses: the running contexts stay.
      this.deps.logger.log(
        'error',
        `Error: certificate reload failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
