// SIGHUP: re-read the configuration and swap in its password, ACL and PSK files, plugins and TLS files without
// dropping anyone; a reload that fails leaves the running configuration untouched and says why.

import type { Logger } from '../broker/logger.js';
import type { CulexConfig } from '../config/config.js';
import type { SecurityState } from './security-state.js';

export interface ReloadDeps {
  /** Parses the configuration again (throws on a syntax or value error). */
  loadConfig(): CulexConfig;
  security: SecurityState;
  logger: Logger;
  /** Reads the TLS listeners' files and returns the step that makes them live (a no-op if one is unusable). */
  prepareTls?: (config: CulexConfig) => () => void;
  /** Runs once the new configuration is live (bridges whose `connection` section changed restart). */
  onReloaded?: (config: CulexConfig) => void;
}

/**
 * Returns the reload action. Calls never overlap: a signal arriving during a reload schedules exactly one
 * more, so the files are read at least once after the last signal. Resolves true when the new settings are live.
 */
export function createReloader(deps: ReloadDeps): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  let again = false;

  const once = async (): Promise<boolean> => {
    deps.logger.log('notice', 'Reloading config.');
    try {
      const config = deps.loadConfig();
      for (const w of config.warnings) deps.logger.log('warning', w);
      // A bad TLS file keeps every listener's old context but, as in Mosquitto, not the rest of the reload.
      const applyTls = deps.prepareTls?.(config);
      await deps.security.reload(config);
      applyTls?.();
      deps.onReloaded?.(config);
      deps.logger.log('notice', 'Config reloaded.');
      return true;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      deps.logger.log('error', `Error: reload failed, keeping the previous configuration: ${why}`);
      return false;
    }
  };

  const loop = async (): Promise<boolean> => {
    let ok = await once();
    while (again) {
      again = false;
      ok = await once();
    }
    running = undefined;
    return ok;
  };

  return () => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = loop();
    return running;
  };
}
