/* loadgen.c — Culex benchmark load generator: many MQTT 3.1.1 clients on loopback, one thread, epoll.
 *
 * Modes:
 *   pubsub   --pubs N --subs M --topics T [--wildcard] --qos Q --size B --rate R --inflight K --duration S
 *   conns    --conns N --idle S [--parallel P]          (idle connections, broker RSS per connection)
 *   churn    --conns N --idle S [--parallel P]          (N connections opened and closed, broker RSS after vs before)
 *   retained --retained N                               (store N retained topics, then time a '#' subscriber)
 *   --selftest                                          (packet reassembly check, no network)
 * Common: --port P (loopback only), --broker-pid PID, --keepalive S, --clean 0|1, --max-msgs N,
 *   --proto 4|5 (MQTT 3.1.1 or 5.0 CONNECT; 5 in conns / churn only), --tls (TLS; built with -DWITH_TLS),
 *   --ws (MQTT over WebSocket: HTTP upgrade to subprotocol "mqtt", binary frames).
 * Cluster runs: --sub-port P (subscribers connect there: another node), --broker-pid given up to 16 times (CPU and
 * RSS are summed over the processes), --settle-ms N (wait after the last SUBACK, for routes to reach every node).
 * The last stdout line is "RESULT {json}".
 *
 * Payload layout (little-endian): [0..7] send time CLOCK_MONOTONIC ns, [8..11] publisher index,
 * [12..19] per-publisher sequence number; the rest is filler. Subscribers use it for latency, loss,
 * duplicates and ordering.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#ifndef TCP_NOTSENT_LOWAT
#define TCP_NOTSENT_LOWAT 25
#endif

/* ---------- limits (every loop is bounded in count and time) ---------- */
#define MAX_CONNS 20000
#define MAX_PAYLOAD (16u << 20)
#define MAX_OUTBUF (64u << 20)
#define WRITE_BATCH (64u << 10)
#define NOTSENT_LOWAT (128 << 10)
#define READ_CHUNK (256u << 10)
#define MAX_DURATION 3600
#define CONNECT_TIMEOUT_S 30
#define DRAIN_MAX_S 30
#define DRAIN_IDLE_S 2
#define BITMAP_MAX_BITS (1ull << 28)

/* ---------- options ---------- */
enum mode { MODE_PUBSUB, MODE_CONNS, MODE_RETAINED, MODE_CHURN };
static struct {
  int mode;
  int port;
  int pubs, subs, topics, wildcard, qos, size, inflight, keepalive, clean, conns, parallel, retained;
  double rate, duration, idle;
  long broker_pid;
  uint64_t max_msgs;
  const char *label;
  int proto, tls, ws;
  int sub_port, settle_ms;
} opt = {MODE_PUBSUB, 0, 1, 1, 0, 0, 0, 64, 10, 60, 1, 1000, 100, 10000, 0, 10, 5, 0, 1000000000ull, "", 4, 0, 0, 0, 0};

#define MAX_BROKER_PIDS 16
static long broker_pids[MAX_BROKER_PIDS];
static int nbroker_pids;

/* ---------- small helpers ---------- */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

typedef struct {
  uint8_t *p;
  size_t off, len, cap; /* unread/unsent bytes are p[off..len) */
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->off > 0 && (b->off == b->len || b->len + extra > b->cap)) {
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
  }
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra) cap *= 2;
  if (cap > MAX_OUTBUF + MAX_PAYLOAD + 64) die("buffer limit exceeded (%zu bytes)", cap);
  b->p = realloc(b->p, cap);
  if (!b->p) die("out of memory");
  b->cap = cap;
}

static size_t buf_pending(const buf_t *b) { return b->len - b->off; }

/* ---------- latency histogram: exact below 128 ns, then 64 sub-buckets per power of two (~1.6 %) ---------- */
#define HIST_N (128 + 58 * 64)
static uint64_t hist[HIST_N];
static uint64_t hist_total, lat_max;

static void hist_add(uint64_t v) {
  unsigned idx;
  if (v < 128) {
    idx = (unsigned)v;
  } else {
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    idx = 128 + (e - 7) * 64 + (unsigned)((v >> (e - 6)) & 63);
  }
  if (idx >= HIST_N) idx = HIST_N - 1;
  hist[idx]++;
  hist_total++;
  if (v > lat_max) lat_max = v;
}

static double hist_pct_us(double p) {
  if (hist_total == 0) return 0;
  uint64_t want = (uint64_t)(p * (double)hist_total);
  if (want < 1) want = 1;
  uint64_t acc = 0;
  for (unsigned i = 0; i < HIST_N; i++) {
    acc += hist[i];
    if (acc >= want) {
      if (i < 128) return i / 1000.0;
      unsigned e = (i - 128) / 64 + 7, m = (i - 128) % 64;
      double lo = (double)((64ull + m) << (e - 6)), w = (double)(1ull << (e - 6));
      return (lo + w / 2) / 1000.0;
    }
  }
  return lat_max / 1000.0;
}

/* ---------- per (subscriber, publisher) delivery tracking ---------- */
typedef struct {
  uint64_t *bits;
  uint64_t nbits, max_seq, unique;
  int seen;
} track_t;

static track_t *tracks; /* subs * pubs, bitmaps allocated on first delivery */
static uint64_t dups, ooo, untracked, bad_payload;

static int track_seen(track_t *t, uint64_t seq) {
  if (seq >= BITMAP_MAX_BITS) {
    untracked++;
    return 0;
  }
  if (seq >= t->nbits) {
    uint64_t n = t->nbits ? t->nbits : 4096;
    while (n <= seq) n *= 2;
    t->bits = realloc(t->bits, n / 8);
    if (!t->bits) die("out of memory (bitmap)");
    memset((uint8_t *)t->bits + t->nbits / 8, 0, (n - t->nbits) / 8);
    t->nbits = n;
  }
  uint64_t w = seq >> 6, m = 1ull << (seq & 63);
  if (t->bits[w] & m) return 1;
  t->bits[w] |= m;
  return 0;
}

/* ---------- connections ---------- */
enum role { R_PUB, R_SUB, R_IDLE };
enum state { S_CONNECTING, S_TLS, S_WSUP, S_CONNACK, S_SUBACK, S_READY, S_CLOSING, S_CLOSED };

typedef struct {
  int fd, idx, role, state;
  uint32_t events;
  buf_t in, out;
  uint64_t last_tx;
  /* transport: TLS session; WebSocket raw input (frames) and how many pending output bytes are framed */
  void *ssl;
  buf_t wsraw;
  size_t ws_mark;
  int ws_ready;
  /* publisher */
  uint8_t *tmpl;
  size_t tmpl_len, pid_off, pay_off;
  uint64_t seq, sent, acked, next_due;
  uint32_t inflight;
  uint16_t next_id;
  int matching;
  /* subscriber */
  uint64_t recv;
} conn_t;

static int ep = -1;
static conn_t *conns;
static int nconns;
static uint64_t t_start, win_start, win_end;
static int window_open, publishing_done;
static uint64_t recv_total, recv_window, unique_total, retained_recv, acked_total, sent_total;
static uint64_t disconnects, conn_failed, protocol_errors, ready_count, sub_fail;
static uint64_t last_progress;

static void set_events(conn_t *c, uint32_t ev) {
  if (c->fd < 0 || c->events == ev) return;
  struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)c->idx};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0) die("epoll_ctl: %s", strerror(errno));
  c->events = ev;
}

static uint64_t closed_total;
static void conn_close(conn_t *c, int unexpected) {
  if (c->fd < 0) return;
  closed_total++;
#ifdef WITH_TLS
  if (c->ssl) SSL_free(c->ssl);
#endif
  c->ssl = NULL;
  c->ws_ready = 0;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if (unexpected && c->state != S_CLOSING) disconnects++;
  c->state = S_CLOSED;
}

static int wants_write(const conn_t *c) {
  if (buf_pending(&c->out) > 0) return 1;
  /* Unlimited QoS 0 publishers produce whenever the socket can take more. */
  return c->role == R_PUB && c->state == S_READY && window_open && opt.mode == MODE_PUBSUB && opt.rate == 0 &&
         opt.qos == 0 && sent_total < opt.max_msgs;
}

static void update_events(conn_t *c) { set_events(c, EPOLLIN | (wants_write(c) ? EPOLLOUT : 0)); }

#ifdef WITH_TLS
static SSL_CTX *tls_ctx;
#endif

static ssize_t io_send(conn_t *c, const uint8_t *p, size_t n) {
#ifdef WITH_TLS
  if (c->ssl) {
    int r = SSL_write(c->ssl, p, n > (1u << 30) ? (1 << 30) : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
    return -1;
  }
#endif
  return send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* 0 = closed by the peer; -1 with errno EAGAIN = nothing now. */
static ssize_t io_recv(conn_t *c, uint8_t *p, size_t n) {
#ifdef WITH_TLS
  if (c->ssl) {
    int r = SSL_read(c->ssl, p, n > (1u << 30) ? (1 << 30) : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    return 0;
  }
#endif
  return recv(c->fd, p, n, MSG_DONTWAIT);
}

static int io_pending(conn_t *c) {
#ifdef WITH_TLS
  if (c->ssl) return SSL_pending(c->ssl) > 0;
#endif
  (void)c;
  return 0;
}

/* WebSocket: wraps the output bytes not framed yet into one binary frame (mask bit set, key 0: payload as is). */
static void ws_frame(conn_t *c) {
  size_t pend = buf_pending(&c->out);
  if (!c->ws_ready || pend <= c->ws_mark) return;
  size_t len = pend - c->ws_mark, h = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4;
  buf_reserve(&c->out, h);
  uint8_t *start = c->out.p + c->out.off + c->ws_mark;
  memmove(start + h, start, len);
  start[0] = 0x82;
  if (len < 126) {
    start[1] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    start[1] = 0x80 | 126;
    start[2] = (uint8_t)(len >> 8);
    start[3] = (uint8_t)len;
  } else {
    start[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) start[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  }
  memset(start + h - 4, 0, 4);
  c->out.len += h;
  c->ws_mark = buf_pending(&c->out);
}

static void flush(conn_t *c) {
  ws_frame(c);
  for (int i = 0; i < 64 && buf_pending(&c->out) > 0; i++) {
    ssize_t n = io_send(c, c->out.p + c->out.off, buf_pending(&c->out));
    if (n > 0) {
      c->out.off += (size_t)n;
      c->ws_mark = c->ws_mark > (size_t)n ? c->ws_mark - (size_t)n : 0;
      c->last_tx = now_ns();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    conn_close(c, 1);
    return;
  }
  if (buf_pending(&c->out) == 0) c->out.off = c->out.len = 0;
  update_events(c);
}

static uint8_t *out_append(conn_t *c, size_t n) {
  if (buf_pending(&c->out) + n > MAX_OUTBUF) die("output buffer of connection %d over %u bytes", c->idx, MAX_OUTBUF);
  buf_reserve(&c->out, n);
  uint8_t *p = c->out.p + c->out.len;
  c->out.len += n;
  return p;
}

/* Room for n more bytes of MQTT input (the payload of WebSocket frames). */
static uint8_t *out_append_in(conn_t *c, size_t n) {
  buf_reserve(&c->in, n);
  uint8_t *p = c->in.p + c->in.len;
  c->in.len += n;
  return p;
}

static size_t put_varint(uint8_t *p, uint32_t v) {
  size_t n = 0;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    p[n++] = b | (v ? 0x80 : 0);
  } while (v);
  return n;
}

static size_t put_str(uint8_t *p, const char *s) {
  size_t l = strlen(s);
  p[0] = (uint8_t)(l >> 8);
  p[1] = (uint8_t)l;
  memcpy(p + 2, s, l);
  return l + 2;
}

static void send_connect(conn_t *c) {
  char id[64];
  snprintf(id, sizeof id, "lg%d-%c%d", (int)getpid(), c->role == R_PUB ? 'p' : c->role == R_SUB ? 's' : 'i', c->idx);
  uint8_t body[128];
  size_t n = put_str(body, "MQTT");
  body[n++] = (uint8_t)opt.proto;          /* protocol level: 4 = 3.1.1, 5 = 5.0 */
  body[n++] = opt.clean ? 0x02 : 0x00;     /* connect flags: clean session only */
  body[n++] = (uint8_t)(opt.keepalive >> 8);
  body[n++] = (uint8_t)opt.keepalive;
  if (opt.proto == 5) body[n++] = 0;       /* no properties */
  n += put_str(body + n, id);
  uint8_t *p = out_append(c, 1 + 4 + n);
  p[0] = 0x10;
  size_t h = 1 + put_varint(p + 1, (uint32_t)n);
  memcpy(p + h, body, n);
  c->out.len -= (1 + 4 + n) - (h + n);
  c->state = S_CONNACK;
}

static void send_subscribe(conn_t *c, const char *filter, int qos) {
  size_t fl = strlen(filter), rl = 2 + 2 + fl + 1;
  uint8_t *p = out_append(c, 1 + 4 + rl);
  size_t h = 1 + put_varint(p + 1, (uint32_t)rl);
  p[0] = 0x82;
  p[h] = 0;
  p[h + 1] = 1;
  put_str(p + h + 2, filter);
  p[h + 4 + fl] = (uint8_t)qos;
  c->out.len -= (1 + 4 + rl) - (h + rl);
  c->state = S_SUBACK;
}

static void send_short(conn_t *c, uint8_t type, uint16_t id) {
  uint8_t *p = out_append(c, 4);
  p[0] = type;
  p[1] = 2;
  p[2] = (uint8_t)(id >> 8);
  p[3] = (uint8_t)id;
}

static void send_two(conn_t *c, uint8_t type) {
  uint8_t *p = out_append(c, 2);
  p[0] = type;
  p[1] = 0;
}

/* A publisher's PUBLISH is pre-built once; each message copies it and patches id, time and sequence. */
static void build_template(conn_t *c, const char *topic, int qos, int retain) {
  size_t tl = strlen(topic), rl = 2 + tl + (qos ? 2 : 0) + (size_t)opt.size;
  c->tmpl = malloc(1 + 4 + rl);
  if (!c->tmpl) die("out of memory");
  c->tmpl[0] = (uint8_t)(0x30 | (qos << 1) | (retain ? 1 : 0));
  size_t h = 1 + put_varint(c->tmpl + 1, (uint32_t)rl);
  put_str(c->tmpl + h, topic);
  c->pid_off = h + 2 + tl;
  c->pay_off = c->pid_off + (qos ? 2 : 0);
  for (int i = 0; i < opt.size; i++) c->tmpl[c->pay_off + (size_t)i] = (uint8_t)('a' + i % 26);
  uint32_t pidx = (uint32_t)c->idx;
  memcpy(c->tmpl + c->pay_off + 8, &pidx, 4);
  c->tmpl_len = h + rl;
}

static void append_publish(conn_t *c, uint64_t ts) {
  uint8_t *p = out_append(c, c->tmpl_len);
  memcpy(p, c->tmpl, c->tmpl_len);
  if (opt.qos > 0 || opt.mode == MODE_RETAINED) {
    if (++c->next_id == 0) c->next_id = 1;
    p[c->pid_off] = (uint8_t)(c->next_id >> 8);
    p[c->pid_off + 1] = (uint8_t)c->next_id;
    c->inflight++;
  }
  memcpy(p + c->pay_off, &ts, 8);
  memcpy(p + c->pay_off + 12, &c->seq, 8);
  c->seq++;
  c->sent++;
  sent_total++;
}

/* Unlimited-rate publisher: top up to one write batch, bounded by the QoS window. */
static void fill_unlimited(conn_t *c) {
  if (c->role != R_PUB || c->state != S_READY || !window_open || opt.rate != 0) return;
  uint64_t ts = now_ns();
  size_t guard = 0;
  while (buf_pending(&c->out) < WRITE_BATCH && sent_total < opt.max_msgs && guard++ < 100000) {
    if (opt.qos > 0 && c->inflight >= (uint32_t)opt.inflight) break;
    append_publish(c, ts);
  }
}

/* ---------- incoming packets ---------- */
static void on_delivery(conn_t *c, const uint8_t *pay, size_t len, uint64_t now, int retain) {
  c->recv++;
  recv_total++;
  last_progress = now;
  if (now <= win_end || !publishing_done) recv_window++;
  if (retain) retained_recv++;
  if (len < 20) {
    bad_payload++;
    return;
  }
  uint64_t ts, seq;
  uint32_t pidx;
  memcpy(&ts, pay, 8);
  memcpy(&pidx, pay + 8, 4);
  memcpy(&seq, pay + 12, 8);
  if (now >= ts) hist_add(now - ts);
  if (opt.mode != MODE_PUBSUB || pidx >= (uint32_t)opt.pubs || c->role != R_SUB) return;
  int sidx = c->idx - opt.pubs;
  track_t *t = &tracks[(size_t)sidx * (size_t)opt.pubs + pidx];
  if (track_seen(t, seq)) {
    dups++;
    return;
  }
  t->unique++;
  unique_total++;
  if (t->seen && seq < t->max_seq) ooo++;
  if (!t->seen || seq > t->max_seq) t->max_seq = seq;
  t->seen = 1;
}

static void start_subscribe(conn_t *c);

static void on_ready(conn_t *c) {
  c->state = S_READY;
  ready_count++;
  /* Churn: a client leaves as soon as it is in (DISCONNECT; the broker closes first). */
  if (opt.mode == MODE_CHURN) {
    send_two(c, 0xE0);
    c->state = S_CLOSING;
  }
}

static void handle_packet(conn_t *c, const uint8_t *p, size_t hl, size_t rl, uint64_t now) {
  uint8_t type = p[0] >> 4;
  const uint8_t *b = p + hl;
  uint16_t id = rl >= 2 ? (uint16_t)((b[0] << 8) | b[1]) : 0;
  switch (type) {
  case 2: /* CONNACK */
    if (rl < 2 || b[1] != 0 || c->state != S_CONNACK) {
      conn_failed++;
      conn_close(c, 0);
      return;
    }
    if (c->role == R_SUB && opt.mode == MODE_PUBSUB) start_subscribe(c);
    else on_ready(c);
    break;
  case 9: /* SUBACK */
    if (rl < 3 || b[2] == 0x80) sub_fail++;
    on_ready(c);
    break;
  case 3: { /* PUBLISH */
    int qos = (p[0] >> 1) & 3;
    if (rl < 2) {
      protocol_errors++;
      return;
    }
    size_t tl = (size_t)((b[0] << 8) | b[1]), off = 2 + tl;
    if (qos > 0) {
      if (off + 2 > rl) {
        protocol_errors++;
        return;
      }
      id = (uint16_t)((b[off] << 8) | b[off + 1]);
      off += 2;
      send_short(c, qos == 1 ? 0x40 : 0x50, id);
    }
    if (off > rl) {
      protocol_errors++;
      return;
    }
    on_delivery(c, b + off, rl - off, now, p[0] & 1);
    break;
  }
  case 4: /* PUBACK */
  case 7: /* PUBCOMP */
    if (c->inflight > 0) c->inflight--;
    c->acked++;
    acked_total++;
    last_progress = now;
    break;
  case 5: /* PUBREC -> PUBREL */
    send_short(c, 0x62, id);
    last_progress = now;
    break;
  case 6: /* PUBREL -> PUBCOMP */
    send_short(c, 0x70, id);
    break;
  case 13: /* PINGRESP */
    break;
  default:
    protocol_errors++;
  }
}

/* Parses every complete packet in the input buffer; split packets wait for more bytes. */
static void parse_input(conn_t *c, uint64_t now) {
  for (size_t guard = 0; guard < 10000000 && c->fd >= 0; guard++) {
    size_t avail = buf_pending(&c->in);
    if (avail < 2) return;
    const uint8_t *p = c->in.p + c->in.off;
    uint32_t rl = 0;
    size_t i = 1;
    int complete = 0;
    for (int shift = 0; i < avail && i <= 4; i++, shift += 7) {
      rl |= (uint32_t)(p[i] & 0x7f) << shift;
      if (!(p[i] & 0x80)) {
        complete = 1;
        i++;
        break;
      }
    }
    if (!complete) {
      if (i > 4) {
        protocol_errors++;
        conn_close(c, 1);
      }
      return;
    }
    if (rl > MAX_PAYLOAD + 1024) {
      protocol_errors++;
      conn_close(c, 1);
      return;
    }
    if (avail < i + rl) {
      buf_reserve(&c->in, i + rl - avail);
      return;
    }
    handle_packet(c, p, i, rl, now);
    c->in.off += i + rl;
  }
}

static void send_connect(conn_t *c);

/* WebSocket: the HTTP answer to the upgrade; 1 once it is a 101 and MQTT may start, 0 to wait, -1 failed. */
static int ws_upgraded(conn_t *c) {
  buf_t *r = &c->wsraw;
  const uint8_t *p = r->p + r->off;
  size_t avail = buf_pending(r);
  for (size_t i = 3; i < avail; i++) {
    if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n') {
      if (avail < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) return -1;
      r->off += i + 1;
      c->ws_ready = 1;
      c->ws_mark = buf_pending(&c->out);
      send_connect(c);
      return 1;
    }
  }
  return avail > 8192 ? -1 : 0;
}

/* WebSocket: moves the payload of every complete frame in wsraw to the MQTT input; 0 when the connection ended. */
static int ws_unwrap(conn_t *c) {
  buf_t *r = &c->wsraw;
  for (;;) {
    const uint8_t *p = r->p + r->off;
    size_t avail = buf_pending(r);
    if (avail < 2) break;
    size_t len = p[1] & 0x7f, h = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (size_t)p[2] << 8 | p[3];
      h = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
      h = 10;
    }
    int masked = p[1] & 0x80;
    if (masked) h += 4;
    if (len > MAX_PAYLOAD + 1024) return 0;
    if (avail < h + len) {
      buf_reserve(r, h + len - avail);
      break;
    }
    int opcode = p[0] & 0x0f;
    if (opcode == 8) return 0; /* close */
    if (opcode == 0 || opcode == 2) {
      uint8_t *dst = out_append_in(c, len);
      memcpy(dst, p + h, len);
      if (masked)
        for (size_t i = 0; i < len; i++) dst[i] ^= p[h - 4 + (i & 3)];
    } else if (opcode == 1) {
      protocol_errors++;
    } /* ping / pong: ignored (no broker under test pings its clients) */
    r->off += h + len;
  }
  if (buf_pending(r) == 0) r->off = r->len = 0;
  return 1;
}

static void on_readable(conn_t *c) {
  for (int round = 0; round < 8 && c->fd >= 0; round++) {
    buf_t *into = opt.ws ? &c->wsraw : &c->in;
    buf_reserve(into, READ_CHUNK);
    ssize_t n = io_recv(c, into->p + into->len, into->cap - into->len);
    if (n == 0) {
      conn_close(c, 1);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      conn_close(c, 1);
      return;
    }
    into->len += (size_t)n;
    if (opt.ws) {
      if (!c->ws_ready) {
        int u = ws_upgraded(c);
        if (u < 0) {
          conn_failed++;
          conn_close(c, 0);
          return;
        }
        if (u == 0) continue;
      }
      if (!ws_unwrap(c)) {
        conn_close(c, 1);
        return;
      }
    }
    parse_input(c, now_ns());
    if ((size_t)n < READ_CHUNK / 2 && !io_pending(c)) break;
  }
  if (c->fd < 0) return;
  if (buf_pending(&c->in) == 0) c->in.off = c->in.len = 0;
  fill_unlimited(c);
  if (buf_pending(&c->out) > 0) flush(c);
  else update_events(c);
}

/* After TCP (and TLS): the WebSocket upgrade request, or straight the CONNECT. */
static void start_mqtt(conn_t *c) {
  if (opt.ws) {
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
                     opt.port);
    memcpy(out_append(c, (size_t)n), req, (size_t)n);
    c->state = S_WSUP;
  } else {
    send_connect(c);
  }
  flush(c);
}

static void tls_step(conn_t *c) {
#ifdef WITH_TLS
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    start_mqtt(c);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) set_events(c, EPOLLIN);
  else if (e == SSL_ERROR_WANT_WRITE) set_events(c, EPOLLIN | EPOLLOUT);
  else {
    conn_failed++;
    conn_close(c, 0);
  }
#else
  (void)c;
#endif
}

static void start_session(conn_t *c) {
#ifdef WITH_TLS
  if (opt.tls) {
    SSL *ssl = SSL_new(tls_ctx);
    if (!ssl) die("SSL_new failed");
    SSL_set_fd(ssl, c->fd);
    SSL_set_connect_state(ssl);
    c->ssl = ssl;
    c->state = S_TLS;
    tls_step(c);
    return;
  }
#endif
  start_mqtt(c);
}

static void on_connected(conn_t *c) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) {
    conn_failed++;
    conn_close(c, 0);
    return;
  }
  start_session(c);
}

static void on_event(conn_t *c, uint32_t ev) {
  if (c->fd < 0) return;
  if (c->state == S_CONNECTING) {
    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
    return;
  }
  if (c->state == S_TLS) {
    tls_step(c);
    return;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
  if (c->fd >= 0 && (ev & EPOLLOUT)) {
    fill_unlimited(c);
    flush(c);
  }
}

/* ---------- setup ---------- */
static struct sockaddr_in target, sub_target;

static void open_conn(conn_t *c, int role) {
  c->role = role;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (role == R_PUB) {
    /* Keep the publisher's backlog in our buffer, not in the kernel's: the drain stays short. */
    int lowat = NOTSENT_LOWAT;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  }
  c->state = S_CONNECTING;
  const struct sockaddr_in *to = role == R_SUB ? &sub_target : &target;
  int r = connect(c->fd, (const struct sockaddr *)to, sizeof *to);
  if (r < 0 && errno != EINPROGRESS) {
    conn_failed++;
    closed_total++;
    close(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
    return;
  }
  struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)c->idx};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) die("epoll_ctl add: %s", strerror(errno));
  c->events = e.events;
}

static char topic_buf[64];
static const char *topic_of(int t) {
  snprintf(topic_buf, sizeof topic_buf, "bench/t/%d", t);
  return topic_buf;
}

static void start_subscribe(conn_t *c) {
  if (opt.wildcard) send_subscribe(c, "bench/t/+", opt.qos);
  else send_subscribe(c, topic_of((c->idx - opt.pubs) % opt.topics), opt.qos);
}

/* ---------- measurements ---------- */
static double cpu_self_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double cpu_one_broker_s(long pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = strrchr(buf, ')'); /* the command name may contain spaces */
  if (!s) return 0;
  unsigned long ut = 0, st = 0;
  /* fields after ")": state(3) ... utime(14) stime(15) */
  if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_broker_s(void) {
  double sum = 0;
  for (int i = 0; i < nbroker_pids; i++) sum += cpu_one_broker_s(broker_pids[i]);
  return sum;
}

static long rss_one_broker_kb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  fclose(f);
  return kb;
}

static long broker_rss_kb(void) {
  long sum = 0;
  for (int i = 0; i < nbroker_pids; i++) sum += rss_one_broker_kb(broker_pids[i]);
  return sum;
}

/* Whole-machine busy and total jiffies from /proc/stat: shows competition from other processes. */
static void host_cpu(double *busy, double *total) {
  FILE *f = fopen("/proc/stat", "r");
  *busy = *total = 0;
  if (!f) return;
  unsigned long long v[8] = {0};
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
    for (int i = 0; i < 8; i++) *total += (double)v[i];
    *busy = *total - (double)v[3] - (double)v[4];
  }
  fclose(f);
}

typedef struct {
  uint64_t t;
  double self, broker, hbusy, htotal;
} sample_t;

static sample_t sample(void) {
  sample_t s = {now_ns(), cpu_self_s(), cpu_broker_s(), 0, 0};
  host_cpu(&s.hbusy, &s.htotal);
  return s;
}

static double pct(double a, double b, double secs) { return secs > 0 ? 100.0 * (b - a) / secs : 0; }

/* ---------- event loop ---------- */
static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* Runs the loop for at most max_ms; returns early when done() says so. */
static void run_loop(int (*done)(void), uint64_t deadline, void (*tick)(uint64_t)) {
  struct epoll_event evs[1024];
  uint64_t last_tick = 0;
  while (!stop_flag) {
    uint64_t now = now_ns();
    if (now >= deadline || (done && done())) return;
    if (tick && now - last_tick >= 1000000ull) {
      last_tick = now;
      tick(now);
    }
    int timeout = tick ? 1 : 10;
    int n = epoll_wait(ep, evs, 1024, timeout);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events);
  }
}

/* Keepalive: a PINGREQ after keepalive/2 seconds of silence. */
static uint64_t last_ping_check;
static void keepalive_tick(uint64_t now) {
  if (now - last_ping_check < 1000000000ull) return;
  last_ping_check = now;
  uint64_t half = (uint64_t)opt.keepalive * 500000000ull;
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    if (c->fd >= 0 && c->state == S_READY && now - c->last_tx >= half) {
      send_two(c, 0xC0);
      flush(c);
    }
  }
}

/* Rate-limited publishers: each sends what is due, phases spread evenly over one period. */
static void rate_tick(uint64_t now) {
  keepalive_tick(now);
  if (!window_open || opt.rate <= 0) return;
  uint64_t period = (uint64_t)(1e9 / opt.rate);
  for (int i = 0; i < opt.pubs; i++) {
    conn_t *c = &conns[i];
    if (c->fd < 0 || c->state != S_READY) continue;
    int n = 0;
    while (c->next_due <= now && n < 1000 && sent_total < opt.max_msgs) {
      if (opt.qos > 0 && c->inflight >= (uint32_t)opt.inflight) break;
      append_publish(c, now);
      c->next_due += period;
      n++;
    }
    if (n > 0) flush(c);
  }
}

static int all_ready(void) { return ready_count + conn_failed >= (uint64_t)nconns; }

static uint64_t expected_total(void) {
  uint64_t e = 0;
  for (int i = 0; i < opt.pubs; i++) e += conns[i].sent * (uint64_t)conns[i].matching;
  return e;
}

static int drained(void) {
  uint64_t now = now_ns();
  if (now - last_progress > (uint64_t)DRAIN_IDLE_S * 1000000000ull) return 1;
  for (int i = 0; i < opt.pubs; i++)
    if (conns[i].inflight > 0 || buf_pending(&conns[i].out) > 0) return 0;
  return unique_total + bad_payload >= expected_total();
}

static void window_tick(uint64_t now) {
  if (opt.rate > 0) rate_tick(now);
  else keepalive_tick(now);
}

static int closing_left;
static int all_closed(void) {
  for (int i = 0; i < nconns; i++)
    if (conns[i].fd >= 0) return 0;
  return 1;
}

/* DISCONNECT everywhere, then wait for the broker to close first (TIME_WAIT stays on its side). */
static void disconnect_all(void) {
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    if (c->fd < 0) continue;
    send_two(c, 0xE0);
    flush(c);
    if (c->fd >= 0) c->state = S_CLOSING;
  }
  (void)closing_left;
  run_loop(all_closed, now_ns() + 3000000000ull, NULL);
  for (int i = 0; i < nconns; i++) conn_close(&conns[i], 0);
}

static void alloc_conns(int n) {
  if (n > MAX_CONNS) die("at most %d connections", MAX_CONNS);
  nconns = n;
  conns = calloc((size_t)n, sizeof *conns);
  if (!conns) die("out of memory");
  for (int i = 0; i < n; i++) {
    conns[i].fd = -1;
    conns[i].idx = i;
    conns[i].state = S_CLOSED;
  }
}

/* Connects everything (at most `parallel` handshakes at once) and waits for CONNACK / SUBACK. */
static uint64_t connect_phase_ns;
static int pending_open;
static void open_more(uint64_t now) {
  (void)now;
  int inprog = 0;
  for (int i = 0; i < pending_open; i++)
    if (conns[i].fd >= 0 && conns[i].state != S_READY) inprog++;
  while (pending_open < nconns && inprog < opt.parallel) {
    conn_t *c = &conns[pending_open];
    open_conn(c, opt.mode == MODE_CONNS ? R_IDLE : (c->idx < opt.pubs ? R_PUB : R_SUB));
    pending_open++;
    inprog++;
  }
}

static uint64_t inprog_count;
static void open_more_churn(void) {
  uint64_t inprog = (uint64_t)pending_open - closed_total;
  while (pending_open < nconns && inprog < (uint64_t)opt.parallel) {
    open_conn(&conns[pending_open], R_IDLE);
    pending_open++;
    inprog++;
  }
}

static int connect_done(void) {
  if (pending_open < nconns) {
    /* count handshakes in progress cheaply: opened - ready - failed */
    uint64_t inprog = (uint64_t)pending_open - ready_count - conn_failed;
    if (inprog < (uint64_t)opt.parallel) open_more(0);
    inprog_count = inprog;
  }
  return all_ready();
}

static void connect_all(void) {
  uint64_t t0 = now_ns();
  pending_open = 0;
  open_more(t0);
  run_loop(connect_done, t0 + (uint64_t)CONNECT_TIMEOUT_S * 1000000000ull, keepalive_tick);
  connect_phase_ns = now_ns() - t0;
}

/* ---------- output ---------- */
static void print_common(FILE *o) {
  fprintf(o, "\"label\":\"%s\",\"port\":%d,\"qos\":%d,\"size\":%d", opt.label, opt.port, opt.qos, opt.size);
}

static int mode_pubsub(void) {
  if (opt.size < 20) die("--size must be >= 20 (payload carries time and sequence)");
  if (opt.topics <= 0) opt.topics = opt.pubs;
  alloc_conns(opt.pubs + opt.subs);
  tracks = calloc((size_t)opt.subs * (size_t)opt.pubs, sizeof *tracks);
  if (!tracks) die("out of memory");
  for (int i = 0; i < opt.pubs; i++) {
    conn_t *c = &conns[i];
    build_template(c, topic_of(i % opt.topics), opt.qos, 0);
    for (int j = 0; j < opt.subs; j++)
      if (opt.wildcard || j % opt.topics == i % opt.topics) c->matching++;
  }
  connect_all();
  if (!all_ready() || conn_failed > 0) {
    fprintf(stderr, "loadgen: %llu of %d connections ready\n", (unsigned long long)ready_count, nconns);
  }
  if (opt.settle_ms > 0) run_loop(NULL, now_ns() + (uint64_t)opt.settle_ms * 1000000ull, keepalive_tick);
  uint64_t period = opt.rate > 0 ? (uint64_t)(1e9 / opt.rate) : 0;
  sample_t a = sample();
  win_start = a.t;
  win_end = win_start + (uint64_t)(opt.duration * 1e9);
  window_open = 1;
  last_progress = win_start;
  for (int i = 0; i < opt.pubs; i++) {
    conn_t *c = &conns[i];
    c->next_due = win_start + (period * (uint64_t)i) / (uint64_t)opt.pubs;
    fill_unlimited(c);
    if (c->fd >= 0) flush(c);
  }
  long rss_peak = 0;
  uint64_t next_rss = win_start;
  while (!stop_flag && now_ns() < win_end) {
    uint64_t until = next_rss + 1000000000ull < win_end ? next_rss + 1000000000ull : win_end;
    run_loop(NULL, until, window_tick);
    long r = broker_rss_kb();
    if (r > rss_peak) rss_peak = r;
    next_rss = until;
  }
  window_open = 0;
  sample_t b = sample();
  publishing_done = 1;
  for (int i = 0; i < nconns; i++) update_events(&conns[i]);
  uint64_t drain_start = now_ns();
  last_progress = drain_start;
  run_loop(drained, drain_start + (uint64_t)DRAIN_MAX_S * 1000000000ull, keepalive_tick);
  double drain_s = (double)(now_ns() - drain_start) / 1e9;
  long rss_end = broker_rss_kb();
  if (rss_end > rss_peak) rss_peak = rss_end;
  uint64_t unflushed = 0, inflight_left = 0;
  for (int i = 0; i < opt.pubs; i++) {
    unflushed += buf_pending(&conns[i].out);
    inflight_left += conns[i].inflight;
  }
  uint64_t expected = expected_total();
  uint64_t disc_before = disconnects;
  disconnect_all();
  double secs = (double)(b.t - a.t) / 1e9;
  double hsecs = (b.htotal - a.htotal) / (double)sysconf(_SC_NPROCESSORS_ONLN);
  uint64_t lost = expected > unique_total ? expected - unique_total : 0;
  printf("RESULT {\"mode\":\"pubsub\",");
  print_common(stdout);
  printf(",\"pubs\":%d,\"subs\":%d,\"topics\":%d,\"wildcard\":%d,\"rate_per_pub\":%g,\"inflight\":%d,\"duration_s\":%.3f",
         opt.pubs, opt.subs, opt.topics, opt.wildcard, opt.rate, opt.inflight, secs);
  printf(",\"ready\":%llu,\"conn_failed\":%llu,\"sub_failed\":%llu,\"sent\":%llu,\"acked\":%llu,\"expected\":%llu",
         (unsigned long long)ready_count, (unsigned long long)conn_failed, (unsigned long long)sub_fail,
         (unsigned long long)sent_total, (unsigned long long)acked_total, (unsigned long long)expected);
  printf(",\"recv\":%llu,\"recv_window\":%llu,\"unique\":%llu,\"lost\":%llu,\"dups\":%llu,\"out_of_order\":%llu,\"bad_payload\":%llu",
         (unsigned long long)recv_total, (unsigned long long)recv_window, (unsigned long long)unique_total,
         (unsigned long long)lost, (unsigned long long)dups, (unsigned long long)ooo, (unsigned long long)bad_payload);
  printf(",\"rate\":%.1f,\"send_rate\":%.1f,\"mb_per_s\":%.3f", secs > 0 ? recv_window / secs : 0,
         secs > 0 ? sent_total / secs : 0, secs > 0 ? recv_window * (double)opt.size / secs / 1e6 : 0);
  printf(",\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f", hist_pct_us(0.5), hist_pct_us(0.9),
         hist_pct_us(0.99), lat_max / 1000.0);
  printf(",\"gen_cpu\":%.1f,\"broker_cpu\":%.1f,\"host_cpu\":%.1f,\"broker_rss_kb\":%ld,\"broker_rss_peak_kb\":%ld",
         pct(a.self, b.self, secs), pct(a.broker, b.broker, secs),
         hsecs > 0 ? 100.0 * (b.hbusy - a.hbusy) / (b.htotal - a.htotal) * sysconf(_SC_NPROCESSORS_ONLN) : 0, rss_end,
         rss_peak);
  printf(",\"disconnects\":%llu,\"protocol_errors\":%llu,\"unflushed\":%llu,\"inflight_left\":%llu,\"drain_s\":%.3f}\n",
         (unsigned long long)disc_before, (unsigned long long)protocol_errors, (unsigned long long)unflushed,
         (unsigned long long)inflight_left, drain_s);
  return conn_failed > 0 ? 1 : 0;
}

static int mode_conns(void) {
  alloc_conns(opt.conns);
  long rss_before = broker_rss_kb();
  sample_t a = sample();
  connect_all();
  sample_t b = sample();
  long rss_connected = broker_rss_kb();
  /* Hold the connections (PINGREQ as needed), then look at memory once more. */
  run_loop(NULL, now_ns() + (uint64_t)(opt.idle * 1e9), keepalive_tick);
  long rss_after = broker_rss_kb();
  uint64_t alive = 0;
  for (int i = 0; i < nconns; i++)
    if (conns[i].fd >= 0 && conns[i].state == S_READY) alive++;
  uint64_t disc_before = disconnects;
  disconnect_all();
  double secs = (double)(b.t - a.t) / 1e9;
  long grown = (rss_after > rss_connected ? rss_after : rss_connected) - rss_before;
  printf("RESULT {\"mode\":\"conns\",");
  print_common(stdout);
  printf(",\"conns\":%d,\"ok\":%llu,\"failed\":%llu,\"alive_after_idle\":%llu,\"connect_s\":%.3f,\"conn_rate\":%.1f",
         opt.conns, (unsigned long long)ready_count, (unsigned long long)conn_failed, (unsigned long long)alive, secs,
         secs > 0 ? ready_count / secs : 0);
  printf(",\"rss_before_kb\":%ld,\"rss_connected_kb\":%ld,\"rss_after_kb\":%ld,\"kb_per_conn\":%.2f", rss_before,
         rss_connected, rss_after, ready_count ? (double)grown / (double)ready_count : 0);
  printf(",\"gen_cpu\":%.1f,\"broker_cpu\":%.1f,\"disconnects\":%llu,\"idle_s\":%g}\n", pct(a.self, b.self, secs),
         pct(a.broker, b.broker, secs), (unsigned long long)disc_before, opt.idle);
  return ready_count == (uint64_t)opt.conns ? 0 : 1;
}

/* Churn: N clients connect and leave again (at most --parallel at a time, each sends DISCONNECT as soon as it has
 * its CONNACK); then, after --idle seconds, the broker's RSS compared with what it was before: memory a broker keeps
 * after many short-lived clients. */
static int churn_done(void) {
  if (pending_open < nconns) open_more_churn();
  return closed_total >= (uint64_t)nconns;
}

static int mode_churn(void) {
  alloc_conns(opt.conns);
  long rss_before = broker_rss_kb();
  sample_t a = sample();
  uint64_t t0 = now_ns();
  pending_open = 0;
  open_more_churn();
  long rss_peak = 0;
  uint64_t deadline = t0 + (uint64_t)(CONNECT_TIMEOUT_S + opt.conns / 100) * 1000000000ull;
  while (!stop_flag && !churn_done() && now_ns() < deadline) {
    run_loop(churn_done, now_ns() + 250000000ull, NULL);
    long r = broker_rss_kb();
    if (r > rss_peak) rss_peak = r;
  }
  sample_t b = sample();
  for (int i = 0; i < nconns; i++) conn_close(&conns[i], 0);
  run_loop(NULL, now_ns() + (uint64_t)(opt.idle * 1e9), NULL);
  long rss_after = broker_rss_kb();
  double secs = (double)(b.t - a.t) / 1e9;
  printf("RESULT {\"mode\":\"churn\",");
  print_common(stdout);
  printf(",\"conns\":%d,\"ok\":%llu,\"failed\":%llu,\"unexpected_closes\":%llu,\"churn_s\":%.3f,\"conn_rate\":%.1f",
         opt.conns, (unsigned long long)ready_count, (unsigned long long)conn_failed, (unsigned long long)disconnects, secs,
         secs > 0 ? ready_count / secs : 0);
  printf(",\"rss_before_kb\":%ld,\"rss_peak_kb\":%ld,\"rss_after_kb\":%ld,\"rss_after_ratio\":%.3f", rss_before,
         rss_peak, rss_after, rss_before > 0 ? (double)rss_after / (double)rss_before : 0);
  printf(",\"gen_cpu\":%.1f,\"broker_cpu\":%.1f,\"idle_s\":%g}\n", pct(a.self, b.self, secs), pct(a.broker, b.broker, secs),
         opt.idle);
  return ready_count == (uint64_t)opt.conns ? 0 : 1;
}

static int retained_received(void) { return retained_recv >= (uint64_t)opt.retained; }
static int pub_acked(void) { return conns[0].acked >= (uint64_t)opt.retained || conns[0].fd < 0; }

/* Retained publisher: one topic per message, QoS 1 with a window so the broker has stored all of them. */
static char rtopic[64];
static void retained_fill(void) {
  conn_t *c = &conns[0];
  if (c->fd < 0) return;
  uint64_t ts = now_ns();
  while (c->sent < (uint64_t)opt.retained && c->inflight < (uint32_t)opt.inflight && buf_pending(&c->out) < WRITE_BATCH) {
    snprintf(rtopic, sizeof rtopic, "bench/r/%llu", (unsigned long long)c->sent);
    free(c->tmpl);
    build_template(c, rtopic, 1, 1);
    append_publish(c, ts);
  }
  flush(c);
}

static void retained_tick(uint64_t now) {
  keepalive_tick(now);
  retained_fill();
}

static int mode_retained(void) {
  if (opt.size < 20) die("--size must be >= 20");
  opt.pubs = 1;
  opt.subs = 1;
  opt.qos = 1;
  if (opt.inflight < 100) opt.inflight = 100;
  alloc_conns(2);
  connect_all();
  if (!all_ready()) die("connections failed");
  uint64_t t0 = now_ns();
  run_loop(pub_acked, t0 + 60000000000ull, retained_tick);
  double publish_s = (double)(now_ns() - t0) / 1e9;
  uint64_t stored = conns[0].acked;
  conn_t *s = &conns[1];
  s->role = R_SUB;
  sample_t a = sample();
  send_subscribe(s, "#", 0);
  flush(s);
  run_loop(retained_received, a.t + 60000000000ull, keepalive_tick);
  sample_t b = sample();
  long rss = broker_rss_kb();
  disconnect_all();
  double secs = (double)(b.t - a.t) / 1e9;
  printf("RESULT {\"mode\":\"retained\",");
  print_common(stdout);
  printf(",\"retained\":%d,\"stored_acked\":%llu,\"publish_s\":%.3f,\"recv\":%llu,\"retained_recv\":%llu,\"receive_s\":%.4f",
         opt.retained, (unsigned long long)stored, publish_s, (unsigned long long)recv_total,
         (unsigned long long)retained_recv, secs);
  printf(",\"rate\":%.1f,\"gen_cpu\":%.1f,\"broker_cpu\":%.1f,\"broker_rss_kb\":%ld,\"disconnects\":%llu}\n",
         secs > 0 ? retained_recv / secs : 0, pct(a.self, b.self, secs), pct(a.broker, b.broker, secs), rss,
         (unsigned long long)disconnects);
  return retained_received() ? 0 : 1;
}


/* ---------- self-test: the parser must reassemble packets split at any byte ---------- */
static size_t put_publish(uint8_t *p, int qos, uint16_t id, uint32_t seq, size_t size) {
  size_t rl = 2 + 3 + (qos ? 2 : 0) + size, n = 0;
  p[n++] = (uint8_t)(0x30 | (qos << 1));
  n += put_varint(p + n, (uint32_t)rl);
  n += put_str(p + n, "a/b");
  if (qos) {
    p[n++] = (uint8_t)(id >> 8);
    p[n++] = (uint8_t)id;
  }
  memset(p + n, 'x', size);
  uint64_t ts = now_ns(), sq = seq;
  uint32_t pidx = 0;
  memcpy(p + n, &ts, 8);
  memcpy(p + n + 8, &pidx, 4);
  memcpy(p + n + 12, &sq, 8);
  return n + size;
}

static int selftest(void) {
  static uint8_t stream[8192];
  size_t n = 0;
  n += put_publish(stream + n, 0, 0, 0, 64);
  n += put_publish(stream + n, 1, 7, 1, 300); /* two-byte remaining length */
  n += put_publish(stream + n, 2, 8, 2, 20);
  n += put_publish(stream + n, 0, 0, 2, 20); /* a duplicate */
  stream[n++] = 0x62, stream[n++] = 2, stream[n++] = 0, stream[n++] = 8; /* PUBREL 8 */
  stream[n++] = 0xD0, stream[n++] = 0;                                     /* PINGRESP */
  n += put_publish(stream + n, 0, 0, 4, 5000); /* larger than one chunk */
  opt.pubs = 1;
  opt.subs = 1;
  tracks = calloc(1, sizeof *tracks);
  alloc_conns(2);
  const size_t chunks[] = {1, 2, 3, 7, 64, 1000, 0};
  int fails = 0;
  for (unsigned k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    conn_t *c = &conns[1];
    c->role = R_SUB;
    c->fd = 0; /* parse_input only needs it non-negative; nothing is read or written */
    c->in.off = c->in.len = c->out.off = c->out.len = 0;
    memset(tracks, 0, sizeof *tracks);
    recv_total = dups = ooo = unique_total = protocol_errors = 0;
    size_t step = chunks[k] ? chunks[k] : n;
    for (size_t off = 0; off < n; off += step) {
      size_t len = off + step > n ? n - off : step;
      buf_reserve(&c->in, len);
      memcpy(c->in.p + c->in.len, stream + off, len);
      c->in.len += len;
      parse_input(c, now_ns());
    }
    const uint8_t want_out[] = {0x40, 2, 0, 7, 0x50, 2, 0, 8, 0x70, 2, 0, 8};
    int ok = recv_total == 5 && dups == 1 && unique_total == 4 && protocol_errors == 0 && buf_pending(&c->in) == 0 &&
             buf_pending(&c->out) == sizeof want_out && memcmp(c->out.p + c->out.off, want_out, sizeof want_out) == 0;
    if (!ok) fails++;
    fprintf(stderr, "selftest chunk %zu: %s (recv %llu dups %llu unique %llu)\n", step, ok ? "ok" : "FAIL",
            (unsigned long long)recv_total, (unsigned long long)dups, (unsigned long long)unique_total);
    c->fd = -1;
  }
  return fails ? 1 : 0;
}

/* ---------- command line ---------- */
static double num(const char *name, const char *v, double lo, double hi) {
  char *end;
  double d = strtod(v, &end);
  if (*v == 0 || *end != 0 || d < lo || d > hi) {
    fprintf(stderr, "loadgen: %s must be a number in [%g, %g]\n", name, lo, hi);
    exit(2);
  }
  return d;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port P [--mode pubsub|conns|churn|retained] [--pubs N] [--subs M] [--topics T] [--wildcard]\n"
          "  [--qos 0|1|2] [--size B] [--rate R/s per publisher, 0=unlimited] [--inflight K] [--duration S]\n"
          "  [--conns N] [--idle S] [--parallel P] [--retained N] [--keepalive S] [--clean 0|1] [--proto 4|5] [--tls] [--ws]\n"
          "  [--broker-pid PID]... [--max-msgs N] [--label STR] [--sub-port P] [--settle-ms N]\n");
  exit(2);
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--wildcard")) {
      opt.wildcard = 1;
      continue;
    }
    if (!strcmp(a, "--selftest")) exit(selftest());
    if (!strcmp(a, "--tls")) {
#ifndef WITH_TLS
      die("built without TLS (cc -DWITH_TLS ... -lssl -lcrypto)");
#endif
      opt.tls = 1;
      continue;
    }
    if (!strcmp(a, "--ws")) {
      opt.ws = 1;
      continue;
    }
    if (!strcmp(a, "--help") || i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "pubsub")) opt.mode = MODE_PUBSUB;
      else if (!strcmp(v, "conns")) opt.mode = MODE_CONNS;
      else if (!strcmp(v, "retained")) opt.mode = MODE_RETAINED;
      else if (!strcmp(v, "churn")) opt.mode = MODE_CHURN;
      else usage();
    } else if (!strcmp(a, "--port")) opt.port = (int)num(a, v, 1, 65535);
    else if (!strcmp(a, "--pubs")) opt.pubs = (int)num(a, v, 0, 10000);
    else if (!strcmp(a, "--subs")) opt.subs = (int)num(a, v, 0, 10000);
    else if (!strcmp(a, "--topics")) opt.topics = (int)num(a, v, 1, 1000000);
    else if (!strcmp(a, "--qos")) opt.qos = (int)num(a, v, 0, 2);
    else if (!strcmp(a, "--size")) opt.size = (int)num(a, v, 0, MAX_PAYLOAD);
    else if (!strcmp(a, "--rate")) opt.rate = num(a, v, 0, 1e7);
    else if (!strcmp(a, "--inflight")) opt.inflight = (int)num(a, v, 1, 65000);
    else if (!strcmp(a, "--duration")) opt.duration = num(a, v, 0.1, MAX_DURATION);
    else if (!strcmp(a, "--conns")) opt.conns = (int)num(a, v, 1, MAX_CONNS);
    else if (!strcmp(a, "--idle")) opt.idle = num(a, v, 0, MAX_DURATION);
    else if (!strcmp(a, "--parallel")) opt.parallel = (int)num(a, v, 1, 10000);
    else if (!strcmp(a, "--retained")) opt.retained = (int)num(a, v, 1, 1000000);
    else if (!strcmp(a, "--keepalive")) opt.keepalive = (int)num(a, v, 0, 65535);
    else if (!strcmp(a, "--clean")) opt.clean = (int)num(a, v, 0, 1);
    else if (!strcmp(a, "--broker-pid")) {
      opt.broker_pid = (long)num(a, v, 0, 1e9);
      if (nbroker_pids == MAX_BROKER_PIDS) die("--broker-pid at most %d times", MAX_BROKER_PIDS);
      if (opt.broker_pid > 0) broker_pids[nbroker_pids++] = opt.broker_pid;
    } else if (!strcmp(a, "--sub-port")) opt.sub_port = (int)num(a, v, 1, 65535);
    else if (!strcmp(a, "--settle-ms")) opt.settle_ms = (int)num(a, v, 0, 60000);
    else if (!strcmp(a, "--max-msgs")) opt.max_msgs = (uint64_t)num(a, v, 1, 1e12);
    else if (!strcmp(a, "--label")) opt.label = v;
    else if (!strcmp(a, "--proto")) opt.proto = (int)num(a, v, 4, 5);
    else usage();
  }
  if (opt.port == 0) usage();
  if (strchr(opt.label, '"') || strchr(opt.label, '\\')) die("--label must not contain quotes");
  if (opt.proto == 5 && opt.mode != MODE_CONNS && opt.mode != MODE_CHURN) die("--proto 5 only with --mode conns|churn");
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  /* Watchdog: whatever happens, the process ends. */
  double budget = opt.duration + opt.idle + CONNECT_TIMEOUT_S + DRAIN_MAX_S + 150;
  alarm((unsigned)budget);
  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)opt.port);
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, by construction */
  sub_target = target;
  if (opt.sub_port != 0) sub_target.sin_port = htons((uint16_t)opt.sub_port);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1: %s", strerror(errno));
  t_start = now_ns();
  setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef WITH_TLS
  if (opt.tls) {
    /* Any certificate: the figures are about the broker's cost per connection, not about trust. */
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) die("SSL_CTX_new failed");
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  }
#endif
  switch (opt.mode) {
  case MODE_CONNS:
    return mode_conns();
  case MODE_CHURN:
    return mode_churn();
  case MODE_RETAINED:
    return mode_retained();
  default:
    return mode_pubsub();
  }
}
