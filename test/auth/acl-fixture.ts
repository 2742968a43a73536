// Shared ACL fixture: the file text, the clients and the topics used by the unit matrix and the broker oracle.

export const ACL_TEXT = `# rules before any user line apply to anonymous clients
topic read public/#
topic write anon/in

user u
topic read allowed/#
topic deny allowed/secret
topic readwrite both/#
topic write $SYS/foo
topic read $SYS/broker/connection/#
topic write $SYS/broker/connection/+/state

user u2
topic deny #
topic read $x/#

user w
topic readwrite #
topic readwrite $SYS/#
topic readwrite $x/#

user u
topic read merged/x

pattern readwrite pat/%u/%c
pattern read clients/%c/#
pattern deny pat/u/blocked
pattern write anonpat/%c
pattern read everyone/#
`;

export interface MatrixClient {
  readonly id: string;
  readonly user?: string;
  readonly password?: string;
}

export const MATRIX_CLIENTS: readonly MatrixClient[] = [
  { id: 'cu', user: 'u', password: 'pu' },
  { id: 'cv', user: 'v', password: 'pv' },
  { id: 'canon' },
  { id: 'cu2', user: 'u2', password: 'pu2' },
  { id: 'c#1', user: 'u', password: 'pu' },
  { id: 'cw', user: 'w', password: 'pw' },
];

export const MATRIX_TOPICS: readonly string[] = [
  'public/a',
  'anon/in',
  'allowed/x',
  'allowed/secret',
  'allowed/secret/sub',
  'both/x',
  'denied/x',
  'merged/x',
  'pat/u/cu',
  'pat/v/cv',
  'pat/u/blocked',
  'clients/cu/a',
  'clients/cv/a',
  'clients/canon/x',
  'clients/cu2/a',
  'everyone/x',
  'anonpat/canon',
  '$SYS/foo',
  '$SYS/broker/connection/x/state',
  '$x/y',
];
