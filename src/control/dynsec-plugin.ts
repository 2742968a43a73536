// Culex's own implementation of Mosquitto's dynamic-security plugin, loaded for a `plugin` line that names
// `mosquitto_dynamic_security.so` (any directory) or `culex:dynamic-security`, with `plugin_opt_config_file`.

import type { AuthenticationRequest, ClientInfo } from '../broker/hooks.js';
import type { CulexPlugin, PluginContext, PluginDecision } from '../server/plugin-api.js';
import { decide } from './dynsec-acl.js';
import { decodeDocument, encodeDocument } from './dynsec-codec.js';
import { DYNSEC_RESPONSE_TOPIC, DYNSEC_TOPIC, handleControlPayload } from './dynsec-control.js';
import { verifyPassword } from './dynsec-password.js';
import { loadDynsecFile, saveDynsecFile } from './dynsec-store.js';

export const DYNSEC_PLUGIN_NAME = 'culex:dynamic-security';

/** MQTT_MAX_PAYLOAD: the largest payload a PUBLISH can carry. */
const MAX_PAYLOAD = 268435455;

/** A command that changed the document, kept until the cluster's copy holds it. */
interface Pending {
  readonly admin: ClientInfo;
  readonly payload: Buffer;
  after: string;
}

/** Commands kept for a re-apply at most (a long Redis outage); further ones are not kept (docs/limits.md). */
const MAX_PENDING = 1000;

export function isDynsecPluginPath(path: string): boolean {
  return path === DYNSEC_PLUGIN_NAME || /(^|[/\\])mosquitto_dynamic_security\.so$/.test(path);
}

/** plugin_opt_* keys are matched case-insensitively, as the plugin's strcasecmp does. */
function option(context: PluginContext, name: string): string | undefined {
  for (const [key, value] of Object.entries(context.options)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function createDynsecPlugin(context: PluginContext): CulexPlugin {
  const file = option(context, 'config_file');
  if (file === undefined) {
    context.log(
      'warning',
      'Warning: Dynamic security plugin has no plugin_opt_config_file defined. The plugin will not be activated.',
    );
    return {};
  }
  // Replaced whole when another node of a cluster changed it (sharedState).
  let data = loadDynsecFile(file, context.log, option(context, 'password_init_file'));
  const log = context.log;
  let changed: ((document: string, note: string) => void) | undefined;
  const document = (): string => JSON.stringify(encodeDocument(data));
  // In a cluster: the commands that changed the document and are not in the cluster's copy yet, each with the
  // document it left, so that a write that lost a race to another node's can re-apply them (sharedState.rebase).
  let pending: Pending[] = [];

  return {
    authenticate(request: AuthenticationRequest): PluginDecision | Promise<PluginDecision> {
      if (request.username === undefined || request.password === undefined) return undefined;
      const client = data.findClient(request.username);
      if (client === undefined) return undefined;
      if (client.disabled) return false;
      if (client.clientid !== undefined && client.clientid !== request.clientId) return false;
      if (client.password === undefined) return undefined;
      return verifyPassword(client.password, request.password);
    },

    authorize(client: ClientInfo, access, topic): PluginDecision {
      return decide(data, client, access, topic);
    },

    hasRole(username: string, role: string): PluginDecision {
      const client = data.findClient(username);
      if (client === undefined) return undefined;
      if (client.disabled) return false;
      return (
        client.roles.some((l) => l.role.rolename === role) ||
        client.groups.some((g) => g.group.roles.some((l) => l.role.rolename === role))
      );
    },

    onControl(client: ClientInfo, topic: string, payload: Buffer): boolean {
      if (topic !== DYNSEC_TOPIC) return false;
      const prefix = `dynsec: ${client.clientId}/${client.username ?? '(null)'} | `;
      // Kicks are gathered and done in one pass once the response is out (a command may name many clients).
      const kicked = new Set<string | undefined>();
      let saved = false;
      const response = handleControlPayload(
        {
          data,
          admin: client,
          save: () => {
            saveDynsecFile(file, data, log);
            saved = true;
          },
          kick: (username) => kicked.add(username ?? undefined),
          log: (text) => log('information', prefix + text),
        },
        payload,
      );
      // Mosquitto drops a response above the MQTT payload limit rather than send it.
      if (Buffer.byteLength(response) <= MAX_PAYLOAD) {
        context.broker.publish({ topic: DYNSEC_RESPONSE_TOPIC, payload: response });
      }
      context.broker.disconnectClients(kicked);
      // The other nodes of a cluster take the new document and disconnect the same clients (null: anonymous).
      if (saved && changed !== undefined) {
        const after = document();
        // Copied: the payload may be a view into a 66 KiB read buffer.
        if (pending.length < MAX_PENDING)
          pending.push({ admin: client, payload: Buffer.from(payload), after });
        changed(after, JSON.stringify([...kicked].map((u) => u ?? null)));
      }
      return true;
    },

    sharedState: {
      name: 'dynamic-security',
      read: document,
      replace(text: string, note?: string): void {
        if (text !== document()) {
          data = decodeDocument(JSON.parse(text) as Parameters<typeof decodeDocument>[0]);
          saveDynsecFile(file, data, log);
        }
        if (note === undefined || note === '') return;
        const names = JSON.parse(note) as (string | null)[];
        context.broker.disconnectClients(new Set(names.map((u) => u ?? undefined)));
      },
      onChange(listener): void {
        changed = listener;
        if (listener === undefined) pending = [];
      },
      rebase(text: string): string {
        // Replayed quietly: their responses went out and their kicks were done when they first ran.
        data = decodeDocument(JSON.parse(text) as Parameters<typeof decodeDocument>[0]);
        for (const p of pending) {
          handleControlPayload(
            { data, admin: p.admin, save: () => {}, kick: () => {}, log: () => {} },
            p.payload,
          );
          p.after = document();
        }
        saveDynsecFile(file, data, log);
        return document();
      },
      settle(text: string): void {
        let last = -1;
        for (let i = 0; i < pending.length; i++) if (pending[i]!.after === text) last = i;
        if (last >= 0) pending = pending.slice(last + 1);
      },
    },
  };
}
