// The `$CONTROL/dynamic-security/v1` endpoint: a JSON `commands` array in, a `responses` array out on
// `.../response`, command names matched case-insensitively, as Mosquitto's dynsec__handle_control does.

import type { JsonValue } from './cjson.js';
import { printUnformatted } from './cjson.js';
import { clientCommands } from './dynsec-clients.js';
import type { CommandContext, CommandHandler } from './dynsec-command.js';
import { reply } from './dynsec-command.js';
import { groupCommands } from './dynsec-groups.js';
import { roleCommands } from './dynsec-roles.js';
import { getString, isObject, type JsonObject, member } from './json-get.js';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';

const HANDLERS = new Map<string, CommandHandler>(
  Object.entries({ ...roleCommands, ...clientCommands, ...groupCommands }).map(([name, fn]) => [
    name.toLowerCase(),
    fn,
  ]),
);

/** Runs every command of one PUBLISH payload; returns the response payload text. */
export function handleControlPayload(ctx: Omit<CommandContext, 'responses'>, payload: Buffer): string {
  const responses: JsonValue[] = [];
  return handleCommands({ ...ctx, responses }, payload, HANDLERS);
}

/** What every `$CONTROL/.../v1` endpoint's commands share: the responses they append to. */
export interface Responses {
  readonly responses: JsonValue[];
}

/**
 * mosquitto_control_generic_callback: parses `{"commands":[...]}`, answers malformed input as Mosquitto does and
 * runs each command through `handlers` (lower-case names). Shared with the `$CONTROL/broker/v1` endpoint.
 */
export function handleCommands<C extends Responses>(
  ctx: C,
  payload: Buffer,
  handlers: ReadonlyMap<string, (ctx: C, cmd: JsonObject, correlation: string | undefined) => void>,
): string {
  let tree: JsonValue | undefined;
  try {
    tree = JSON.parse(payload.toString('utf8')) as JsonValue;
  } catch {
    tree = undefined;
  }
  if (tree === undefined) reply(ctx, 'Unknown command', 'Payload not valid JSON');
  else {
    const commands = isObject(tree) ? member(tree, 'commands') : undefined;
    if (!Array.isArray(commands)) reply(ctx, 'Unknown command', 'Invalid/missing commands');
    else runCommands(ctx, commands, handlers);
  }
  return printUnformatted({ responses: ctx.responses });
}

function runCommands<C extends Responses>(
  ctx: C,
  commands: JsonValue[],
  handlers: ReadonlyMap<string, (ctx: C, cmd: JsonObject, correlation: string | undefined) => void>,
): void {
  // As in the plugin, a malformed entry is answered with the correlationData of the previous command.
  let corr: string | undefined;
  for (const item of commands) {
    if (!isObject(item)) {
      reply(ctx, 'Unknown command', 'Command not an object', corr);
      continue;
    }
    const command = getString(item, 'command', false);
    if (typeof command !== 'string') {
      reply(ctx, 'Unknown command', 'Missing command', corr);
      continue;
    }
    const given = getString(item, 'correlationData', true);
    if (given === null) {
      // The plugin stops at the first command with a bad correlationData.
      reply(ctx, command, 'Invalid correlationData data type.');
      return;
    }
    corr = given;
    const handler = handlers.get(command.toLowerCase());
    if (handler === undefined) reply(ctx, command, 'Unknown command', corr);
    else handler(ctx, item, corr);
  }
}
