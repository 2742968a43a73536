// Mosquitto 2.1's built-in `$CONTROL/broker/v1` endpoint (`enable_control_api true`): `listPlugins` and
// `listListeners`, answered on `$CONTROL/broker/v1/response` with the fields and order of 2.1's broker_control.c.

import type { ClientInfo } from '../broker/hooks.js';
import type { BrokerControlInfo } from '../config/config.js';
import type { CulexPlugin, PluginContext } from '../server/plugin-api.js';
import type { JsonValue } from './cjson.js';
import { replyData } from './dynsec-command.js';
import { DYNSEC_TOPIC, handleCommands, type Responses } from './dynsec-control.js';
import { isDynsecPluginPath } from './dynsec-plugin.js';
import type { JsonObject } from './json-get.js';

export const BROKER_CONTROL_TOPIC = '$CONTROL/broker/v1';
const RESPONSE_TOPIC = '$CONTROL/broker/v1/response';
const MAX_PAYLOAD = 268435455;

export { BROKER_CONTROL_PLUGIN } from '../config/config.js';

interface BrokerCommandContext extends Responses {
  readonly info: BrokerControlInfo;
  readonly log: (command: string) => void;
}

/**
 * Only plugins that give the broker a name are listed (mosquitto_plugin_set_info); of Culex's, the built-in
 * dynamic-security plugin, which 2.1 names "dynamic-security" without a version once it has a config file.
 */
function listPlugins(ctx: BrokerCommandContext, _cmd: JsonObject, corr: string | undefined): void {
  ctx.log('listPlugins');
  const plugins: JsonValue[] = [];
  for (const p of ctx.info.plugins) {
    const configured = Object.keys(p.options).some((k) => k.toLowerCase() === 'config_file');
    if (!isDynsecPluginPath(p.path) || !configured) continue;
    const entry: JsonObject = { name: 'dynamic-security' };
    if (p.port !== undefined) entry.port = p.port;
    entry['control-endpoints'] = [DYNSEC_TOPIC];
    plugins.push(entry);
  }
  replyData(ctx, 'listPlugins', { plugins }, corr);
}

function listListeners(ctx: BrokerCommandContext, _cmd: JsonObject, corr: string | undefined): void {
  ctx.log('listListeners');
  const listeners: JsonValue[] = ctx.info.listeners.map((l) => {
    const entry: JsonObject = {
      port: l.port,
      protocol:
        l.protocol === 'websockets' ? 'mqtt+websockets' : l.protocol === 'http_api' ? 'http_api' : 'mqtt',
    };
    if (l.host !== undefined) entry['bind-address'] = l.host;
    if (l.unixSocketPath !== undefined) entry['socket-path'] = l.unixSocketPath;
    entry.tls = l.tls;
    return entry;
  });
  replyData(ctx, 'listListeners', { listeners }, corr);
}

const HANDLERS = new Map([
  ['listplugins', listPlugins],
  ['listlisteners', listListeners],
]);

export function createBrokerControlPlugin(context: PluginContext, info: BrokerControlInfo): CulexPlugin {
  return {
    onControl(client: ClientInfo, topic: string, payload: Buffer): boolean {
      if (topic !== BROKER_CONTROL_TOPIC) return false;
      const who = `${client.clientId}/${client.username ?? '(null)'}`;
      const response = handleCommands(
        { info, responses: [], log: (command) => context.log('information', `Broker: ${who} | ${command}`) },
        payload,
        HANDLERS,
      );
      if (Buffer.byteLength(response) <= MAX_PAYLOAD)
        context.broker.publish(RESPONSE_TOPIC, Buffer.from(response));
      return true;
    },
  };
}
