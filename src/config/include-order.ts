// Load order of include_dir files, as Mosquitto documents it: alphabetical ignoring case, and where two names
// differ only in case, upper case first (00.conf, 01.conf, A.conf, a.conf, B.conf, b.conf).

function compareIncludeNames(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  if (a === b) return 0;
  // Same letters: the first case difference decides, upper case (lower code point) first.
  return a < b ? -1 : 1;
}

export function sortIncludeNames(names: readonly string[]): string[] {
  return [...names].filter((n) => n.endsWith('.conf')).sort(compareIncludeNames);
}
