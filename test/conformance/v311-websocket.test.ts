// MQTT 3.1.1 conformance, section 6 (WebSocket transport).

import { test } from 'node:test';
import { websocketCheck } from './ws-check.js';

test('[MQTT-6.0.0-2] [MQTT-6.0.0-4] 3.1.1: over WebSocket the server selects "mqtt" and reads packets split over or packed into frames', async () => {
  await websocketCheck(4);
});
