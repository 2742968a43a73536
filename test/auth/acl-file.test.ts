// ACL file tests: parsing rules and a users x topics x read/write matrix of Mosquitto 2.0 semantics.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AclFile } from '../../src/auth/acl-file.js';
import { AuthFileError } from '../../src/auth/auth-file-error.js';
import { fileAuthorizer } from '../../src/auth/authenticator.js';
import { dollarTopicAllowed } from '../../src/auth/dollar-topics.js';
import { ACL_TEXT, MATRIX_CLIENTS } from './acl-fixture.js';

const acl = AclFile.parse(ACL_TEXT, 'fixture.acl');

type Expect = Record<string, string>;
/** Expected access per topic: r = read only, w = write only, rw = both, '' = neither. */
const EXPECTED: Record<string, Expect> = {
  // user u: own rules first, deny wins inside them, then patterns.
  cu: {
    'public/a': '',
    'allowed/x': 'r',
    'allowed/secret': '',
    'allowed/secret/sub': 'r',
    'both/x': 'rw',
    'denied/x': '',
    'merged/x': 'r',
    'pat/u/cu': 'rw',
    'pat/v/cv': '',
    'pat/u/blocked': '',
    'clients/cu/a': 'r',
    'clients/cv/a': '',
    'everyone/x': 'r',
    '$SYS/foo': 'w',
    '$SYS/broker/connection/x/state': 'rw',
    '$x/y': '',
  },
  // user v has no section: patterns only.
  cv: {
    'public/a': '',
    'both/x': '',
    'pat/v/cv': 'rw',
    'pat/u/cu': '',
    'clients/cv/a': 'r',
    'clients/cu/a': '',
    '$SYS/foo': '',
  },
  // anonymous: rules before the first `user` line, plus patterns without %u.
  canon: {
    'public/a': 'r',
    'anon/in': 'w',
    'both/x': '',
    'clients/canon/x': 'r',
    'pat/u/canon': '',
    'anonpat/canon': 'w',
    'everyone/x': 'r',
  },
  // user u2: `topic deny #` vetoes every non-$ topic before patterns are reached.
  cu2: {
    'clients/cu2/a': '',
    'everyone/x': '',
    'public/a': '',
    '$x/y': 'r',
  },
  // A client id holding a wildcard loses pattern access but keeps its own rules.
  'c#1': {
    'both/x': 'rw',
    'everyone/x': '',
    'pat/u/c#1': '',
  },
  // user w: superuser rules match before any pattern denial.
  cw: {
    'pat/u/blocked': 'rw',
    'denied/x': 'rw',
    '$x/y': 'rw',
    '$SYS/foo': 'rw',
  },
};

const userOf = (cid: string): string | undefined => MATRIX_CLIENTS.find((c) => c.id === cid)?.user;

for (const [cid, topics] of Object.entries(EXPECTED)) {
  test(`ACL matrix for client ${cid} (user ${userOf(cid) ?? 'anonymous'})`, () => {
    for (const [topic, rights] of Object.entries(topics)) {
      assert.equal(acl.check('read', cid, userOf(cid), topic), rights.includes('r'), `read ${topic}`);
      assert.equal(acl.check('write', cid, userOf(cid), topic), rights.includes('w'), `write ${topic}`);
    }
  });
}

test('subscriptions are not vetted by the ACL file (Mosquitto 2.0.11 grants them; deliveries are filtered)', () => {
  assert.equal(acl.check('subscribe', 'cv', 'v', 'denied/#'), true);
  assert.equal(acl.check('subscribe', 'canon', undefined, '#'), true);
});

test('patterns using %u do not apply to anonymous clients; %c still does', () => {
  const a = AclFile.parse('pattern read a/%u/#\npattern read b/%c/#\n', 'p');
  assert.equal(a.check('read', 'c1', undefined, 'a/%u/x'), false);
  assert.equal(a.check('read', 'c1', undefined, 'b/c1/x'), true);
  assert.equal(a.check('read', 'c1', 'bob', 'a/bob/x'), true);
  assert.equal(a.check('read', 'c1', 'bo+b', 'a/bo+b/x'), false);
});

test('a user with no rules and no patterns is denied; an empty file denies everyone', () => {
  const a = AclFile.parse('user alice\ntopic foo\n', 'x');
  assert.equal(a.check('write', 'c', 'bob', 'foo'), false);
  assert.equal(a.check('write', 'c', undefined, 'foo'), false);
  assert.equal(a.check('write', 'c', 'alice', 'foo'), true);
  const empty = AclFile.parse('', 'empty');
  assert.equal(empty.check('read', 'c', 'alice', 'foo'), false);
});

test('parsing quirks follow Mosquitto: single argument is the topic, spaces in topics, indentation', () => {
  const a = AclFile.parse(
    ['topic read', '  topic write  spaced topic  ', 'user  name with space ', 'topic x/#'].join('\n'),
    'q',
  );
  assert.equal(a.check('read', 'c', undefined, 'read'), true); // "topic read" grants readwrite on topic "read"
  assert.equal(a.check('write', 'c', undefined, 'read'), true);
  assert.equal(a.check('write', 'c', undefined, 'spaced topic'), true);
  assert.equal(a.check('read', 'c', undefined, 'spaced topic'), false);
  assert.equal(a.check('read', 'c', 'name with space', 'x/y'), true);
});

test('malformed ACL lines throw AuthFileError with the line number', () => {
  const bad: Array<[string, number, RegExp]> = [
    ['topic read a\ntopic\n', 2, /Empty topic/],
    ['topic readonly a/b\n', 1, /Invalid topic access type "readonly"/],
    ['\n\ntopic read a/#/b\n', 3, /Invalid ACL topic "a\/#\/b"/],
    ['user\n', 1, /Missing username/],
    ['topic a\nusers bob\n', 2, /Invalid line/],
    ['  # indented comment\n', 1, /Invalid line/],
    ['topic\tread\ta\n', 1, /Invalid line/],
  ];
  for (const [text, line, message] of bad) {
    assert.throws(
      () => AclFile.parse(text, 'bad.acl'),
      (err: unknown) =>
        err instanceof AuthFileError &&
        err.line === line &&
        err.file === 'bad.acl' &&
        message.test(err.message),
      JSON.stringify(text),
    );
  }
});

test('$SYS is read-only for clients except bridge state topics; $share only for subscribing', () => {
  assert.equal(dollarTopicAllowed('write', '$SYS/foo'), false);
  assert.equal(dollarTopicAllowed('read', '$SYS/foo'), true);
  assert.equal(dollarTopicAllowed('write', '$SYS/broker/connection/br1/state'), true);
  assert.equal(dollarTopicAllowed('subscribe', '$share/g/a/#'), true);
  assert.equal(dollarTopicAllowed('write', '$share/g/a'), false);
  assert.equal(dollarTopicAllowed('write', '$other/x'), true);
  const auth = fileAuthorizer(acl);
  assert.equal(auth.authorize('write', 'cw', 'w', '$SYS/foo'), false); // file allows it, broker rule vetoes
  assert.equal(auth.authorize('write', 'cu', 'u', '$SYS/broker/connection/x/state'), true);
  assert.equal(auth.authorize('write', 'cu', 'u', 'both/x'), true);
});
