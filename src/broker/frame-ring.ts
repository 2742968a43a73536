// Frames (encoded packets) of long-lived messages are kept for the few used lately only: a retained message
// is sent on SUBSCRIBE and then sits for hours, and a frame with its cached packet costs several times the
// payload (the heap snapshot of 50,000 retained messages: ~400 of ~550 bytes each). Live fan-out is unaffected:
// a message keeps its frame while it is among the last LIMIT framed (every subscriber of one PUBLISH in a row).

/** What the ring drops a frame from. */
export interface Framed {
  readonly size: number;
  /** @internal forgets the cached frame (rebuilt on next use). */
  dropFrame(): void;
}

/** Messages whose frame is kept, at most; and the payload bytes their frames may hold together. */
const LIMIT = 1024;
const BYTES = 4 * 1024 * 1024;

const ring: (Framed | undefined)[] = new Array<Framed | undefined>(LIMIT).fill(undefined);
let head = 0;
let count = 0;
let bytes = 0;

/** `message` just cached a frame: keep it, dropping the frames of the oldest beyond the bounds. */
export function keepFrame(message: Framed): void {
  const size = message.size;
  while (count > 0 && (count === LIMIT || bytes + size > BYTES)) {
    const old = ring[head]!;
    ring[head] = undefined;
    head = (head + 1) % LIMIT;
    count--;
    bytes -= old.size;
    old.dropFrame();
  }
  ring[(head + count) % LIMIT] = message;
  count++;
  bytes += size;
}
