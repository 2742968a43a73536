// Summarises a V8 heap snapshot: self size and count per constructor, largest first (bench/scale.ts). Internal
// arrays and strings are named after what holds them ("(array) Map.table"), which says where the memory goes.

import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapRow {
  name: string;
  count: number;
  bytes: number;
}

export function summarizeHeap(file: string, top: number): HeapRow[] {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snap.snapshot.meta;
  const types = meta.node_types[0];
  const width = meta.node_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const edgeWidth = meta.edge_fields.length;
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const nodeName = (i: number): string => {
    const type = types[nodes[i + typeAt]!]!;
    return type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]!]! : `(${type})`;
  };
  // The first holder of each internal node: "Holder.edge".
  const holder = new Map<number, string>();
  let e = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const count = nodes[i + edgeCountAt]!;
    for (let k = 0; k < count; k++, e += edgeWidth) {
      const to = edges[e + toAt]!;
      const toType = types[nodes[to + typeAt]!];
      if (toType !== 'array' && toType !== 'string' && toType !== 'hidden') continue;
      if (holder.has(to)) continue;
      const kind = edgeTypes[edges[e + edgeTypeAt]!];
      const edgeName = kind === 'element' || kind === 'hidden' ? '[]' : strings[edges[e + edgeNameAt]!];
      holder.set(to, `${nodeName(i)}.${edgeName}`);
    }
  }
  const rows = new Map<string, HeapRow>();
  for (let i = 0; i < nodes.length; i += width) {
    const base = nodeName(i);
    const via = holder.get(i);
    const name = via === undefined ? base : `${base} ${via}`;
    const row = rows.get(name) ?? { name, count: 0, bytes: 0 };
    row.count++;
    row.bytes += nodes[i + sizeAt]!;
    rows.set(name, row);
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
}
