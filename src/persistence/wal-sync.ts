// `persistence_sync full` without stopping the event loop: SQLite commits with synchronous=NORMAL (the WAL
// frames are written, not fsynced), then the WAL file is fdatasynced on libuv's threadpool while the broker goes
// on decoding; the acknowledgements a commit covers wait for the sync that started after it (group-commit.ts
// waits for the promise). A sync running when a commit ends may predate its frames: the next one, shared by
// every commit until it starts, covers them. SQLite itself still syncs the WAL before each checkpoint and the
// database after it, and the WAL header when the file is reused, which with these syncs is FULL's guarantee.

import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export class WalSync {
  private readonly fd: number;
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** Opens the WAL file (it exists once the database had a write transaction) and syncs its directory entry. */
  constructor(walFile: string) {
    this.fd = openSync(walFile, 'r');
    const dir = openSync(dirname(walFile), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  /** Settles once everything written to the WAL so far is on disk; rejects with the sync's error. */
  sync(): Promise<void> {
    if (this.next !== undefined) return this.next;
    if (this.running === undefined) return this.start();
    const after = (): Promise<void> => {
      this.next = undefined;
      return this.start();
    };
    this.next = this.running.then(after, after);
    return this.next;
  }

  /** Syncs at once, blocking (start-up, shutdown). */
  syncNow(): void {
    fdatasyncSync(this.fd);
  }

  /** Closes the file once no sync uses it. */
  close(): void {
    const last = this.next ?? this.running;
    const close = (): void => closeSync(this.fd);
    if (last === undefined) close();
    else last.then(close, close);
  }

  private start(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      fdatasync(this.fd, (err) => {
        if (this.running === p) this.running = undefined;
        if (err === null) resolve();
        else reject(err);
      });
    });
    this.running = p;
    return p;
  }
}
