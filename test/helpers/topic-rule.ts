// Whether a filter matches a topic, by the rules themselves ([MQTT-4.7.1-2], [MQTT-4.7.2-1]): what the topic tree
// and the retained store are checked against.

export function matchesByRule(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  const dollar = topic.startsWith('$');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(dollar && i === 0);
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (dollar && i === 0) return false;
    } else if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
