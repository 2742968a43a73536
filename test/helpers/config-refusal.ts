// The message a configuration text is refused with ('accepted' when it is not), for the option tests.

import { parseConfigText } from '../../src/config/parse.js';

export function refusal(text: string): string {
  try {
    parseConfigText(text, 'c.conf');
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}
