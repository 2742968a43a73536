// Example Culex plugin: lets a fixed set of users in, keeps everyone out of a "restricted" topic tree,
// and counts messages. Load it with:
//
//   plugin /path/to/examples/plugin/topic-guard.js
//   plugin_opt_users alice:secret,bob:hunter2
//   plugin_opt_restricted secret/#
//
// Every hook may return undefined to leave the decision to the next plugin and then the password / ACL files.

/** The default export: called once per load (start-up and every SIGHUP) with the plugin's context. */
export default function topicGuard(context) {
  const users = new Map(
    (context.options.users ?? '')
      .split(',')
      .filter((entry) => entry.includes(':'))
      .map((entry) => [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)]),
  );
  const restricted = (context.options.restricted ?? 'secret/#').replace(/\/?#$/, '');
  let messages = 0;

  const inRestricted = (topic) => topic === restricted || topic.startsWith(`${restricted}/`);

  context.log('notice', `topic-guard loaded: ${users.size} users, restricted tree "${restricted}"`);

  return {
    authenticate({ username, password }) {
      if (!users.has(username)) return undefined; // not ours: ask the password file
      return password !== undefined && password.toString('utf8') === users.get(username);
    },

    authorize(_client, _access, topic) {
      // A wide filter such as "#" is allowed; deliveries are checked one by one ('read'), so it never
      // receives restricted messages. Answering undefined here would defer to the ACL file, and when every
      // source defers the access is denied (Mosquitto's rule), so this plugin answers for every topic.
      return !inRestricted(topic);
    },

    onClientConnected(client) {
      context.log('information', `hello ${client.clientId} (${client.username ?? 'anonymous'})`);
    },

    onMessage() {
      messages++;
    },

    close() {
      context.log('notice', `topic-guard unloaded after ${messages} messages`);
    },
  };
}
