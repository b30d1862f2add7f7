/**
 * Approximate graph edit distance between two program dependence graphs, and its normalised similarity.
 *
 * Exact GED is NP-hard. We use the bipartite approximation of Riesen & Bunke (2009): a node assignment is
 * found by solving a linear assignment problem whose costs combine the node substitution / deletion /
 * insertion cost with the cost of editing each node's *local* edges (its incident edges' kinds, roles,
 * directions and neighbour classes); the exact edit cost *induced by that assignment* (nodes and all edges)
 * is then computed. That induced cost is an upper bound on the true GED, so the similarity is a lower bound
 * on the "true" one.
 *
 * Constraints (CSSG-style): program roots map to program roots, and a node may only be substituted by a
 * node of the same class (call for call, loop for loop, ...); other pairs must go through deletion and
 * insertion. Because of that the assignment problem splits into one independent problem per node class,
 * each solved exactly with the Hungarian algorithm (O(k^3) for k nodes of that class). Classes larger than
 * `maxGroup` nodes (very large functions) fall back to a greedy assignment on the same costs.
 *
 * Costs: node deletion/insertion 1, substitution 0 (same label) or `labelCost` (same class, different
 * label), edge deletion/insertion 1 (an edge is preserved when both ends map and kind and role agree).
 * Normalisation: similarity = 1 - cost / (|V1| + |V2| + |E1| + |E2|), the cost of deleting one graph and
 * inserting the other, so it lies in [0, 1].
 */
import type { Pdg } from "./pdg.js";

export interface GedOptions {
  /** Cost of substituting a node by one of the same class but another label (default 0.5). */
  labelCost?: number;
  /** Weight of the local-edge term in the assignment costs (default 1). */
  edgeWeight?: number;
  /** Above this many nodes in one class, use a greedy assignment (default 400). */
  maxGroup?: number;
}

export interface GedResult {
  similarity: number;
  cost: number;
  maxCost: number;
  /** Node counts and how they were matched. */
  nodes1: number;
  nodes2: number;
  edges1: number;
  edges2: number;
  substituted: number;
  relabelled: number;
  deleted: number;
  inserted: number;
  edgesKept: number;
  greedy: boolean;
}

/** Hungarian algorithm (shortest augmenting paths with potentials) on a square n x n cost matrix. */
export function hungarian(cost: Float64Array, n: number): Int32Array {
  const INF = Number.POSITIVE_INFINITY;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1); // p[j]: row matched to column j (1-based), 0 = none
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(INF);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = INF;
      let j1 = 0;
      const row = (i0 - 1) * n;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[row + j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0);
  }
  const rowToCol = new Int32Array(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j]! > 0) rowToCol[p[j]! - 1] = j - 1;
  return rowToCol;
}

interface Local {
  /** multiset of incident edge descriptors -> count */
  sig: Map<string, number>;
  deg: number;
}

function locals(g: Pdg): Local[] {
  const out: Local[] = g.nodes.map(() => ({ sig: new Map(), deg: 0 }));
  for (const e of g.edges) {
    const a = out[e.from]!;
    const b = out[e.to]!;
    const ka = `>${e.kind}:${e.role}:${g.nodes[e.to]!.cls}`;
    const kb = `<${e.kind}:${e.role}:${g.nodes[e.from]!.cls}`;
    a.sig.set(ka, (a.sig.get(ka) ?? 0) + 1);
    b.sig.set(kb, (b.sig.get(kb) ?? 0) + 1);
    a.deg++;
    b.deg++;
  }
  return out;
}

/**
 * Weisfeiler-Lehman colours after `rounds` refinements (label + sorted neighbour colours, hashed), used only
 * to break ties between nodes whose local costs are equal (e.g. two `x = 0` whose uses differ further away).
 */
function wlColours(g: Pdg, rounds: number): string[][] {
  const out: string[][] = [];
  let cur = g.nodes.map((n) => `${n.cls}|${n.label}`);
  for (let r = 0; r < rounds; r++) {
    const nb: string[][] = g.nodes.map(() => []);
    for (const e of g.edges) {
      nb[e.from]!.push(`>${e.kind}${e.role}${cur[e.to]}`);
      nb[e.to]!.push(`<${e.kind}${e.role}${cur[e.from]}`);
    }
    cur = cur.map((c, i) => shortHash(`${c}[${nb[i]!.sort().join(",")}]`));
    out.push(cur);
  }
  return out;
}

function shortHash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 16777619);
    h2 = Math.imul(h2 + ch, 2246822519) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

function sigDiff(a: Map<string, number>, b: Map<string, number>): number {
  let d = 0;
  for (const [k, x] of a) {
    const y = b.get(k) ?? 0;
    d += Math.abs(x - y);
  }
  for (const [k, y] of b) if (!a.has(k)) d += y;
  return d;
}

export function graphEditSimilarity(g1: Pdg, g2: Pdg, opts: GedOptions = {}): GedResult {
  const labelCost = opts.labelCost ?? 0.5;
  const ew = opts.edgeWeight ?? 1;
  const maxGroup = opts.maxGroup ?? 400;
  const L1 = locals(g1);
  const L2 = locals(g2);
  const W1 = wlColours(g1, 3);
  const W2 = wlColours(g2, 3);
  const map12 = new Int32Array(g1.nodes.length).fill(-1);
  const map21 = new Int32Array(g2.nodes.length).fill(-1);
  let greedy = false;

  // group nodes by class
  const groups = new Map<string, [number[], number[]]>();
  g1.nodes.forEach((n, i) => {
    const k = n.cls;
    if (!groups.has(k)) groups.set(k, [[], []]);
    groups.get(k)![0].push(i);
  });
  g2.nodes.forEach((n, j) => {
    const k = n.cls;
    if (!groups.has(k)) groups.set(k, [[], []]);
    groups.get(k)![1].push(j);
  });

  const subCost = (i: number, j: number): number => {
    const a = g1.nodes[i]!;
    const b = g2.nodes[j]!;
    let c = a.label === b.label ? 0 : labelCost;
    c += (ew * sigDiff(L1[i]!.sig, L2[j]!.sig)) / 2;
    for (let r = 0; r < W1.length; r++) if (W1[r]![i] !== W2[r]![j]) c += 0.02;
    return c;
  };
  const delCost = (i: number): number => 1 + (ew * L1[i]!.deg) / 2;
  const insCost = (j: number): number => 1 + (ew * L2[j]!.deg) / 2;

  for (const [, [A, B]] of groups) {
    const n = A.length;
    const m = B.length;
    if (n === 0 || m === 0) continue;
    if (n + m > maxGroup) {
      greedy = true;
      const pairs: Array<[number, number, number]> = [];
      for (const i of A) for (const j of B) {
        const c = subCost(i, j);
        if (c < delCost(i) + insCost(j)) pairs.push([c - delCost(i) - insCost(j), i, j]);
      }
      pairs.sort((x, y) => x[0] - y[0]);
      for (const [, i, j] of pairs) if (map12[i] === -1 && map21[j] === -1) {
        map12[i] = j;
        map21[j] = i;
      }
      continue;
    }
    // Riesen-Bunke square matrix: [sub | del ; ins | 0]
    const N = n + m;
    const BIG = 1e9;
    const C = new Float64Array(N * N);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < m; c++) C[r * N + c] = subCost(A[r]!, B[c]!);
      for (let c = 0; c < n; c++) C[r * N + m + c] = c === r ? delCost(A[r]!) : BIG;
    }
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) C[(n + r) * N + c] = c === r ? insCost(B[r]!) : BIG;
      // bottom-right block stays 0
    }
    const assign = hungarian(C, N);
    for (let r = 0; r < n; r++) {
      const c = assign[r]!;
      if (c >= 0 && c < m) {
        map12[A[r]!] = B[c]!;
        map21[B[c]!] = A[r]!;
      }
    }
  }
  // roots to roots (both graphs start with the program root at index 0)
  if (g1.nodes.length && g2.nodes.length && g1.nodes[0]!.cls === "root" && g2.nodes[0]!.cls === "root") {
    if (map12[0] !== 0) {
      const j = map12[0]!;
      const i = map21[0]!;
      if (j >= 0) map21[j] = -1;
      if (i >= 0) map12[i] = -1;
      map12[0] = 0;
      map21[0] = 0;
    }
  }

  // exact cost induced by the mapping
  let cost = 0;
  let substituted = 0;
  let relabelled = 0;
  let deleted = 0;
  for (let i = 0; i < g1.nodes.length; i++) {
    const j = map12[i]!;
    if (j < 0) {
      cost += 1;
      deleted++;
    } else {
      substituted++;
      if (g1.nodes[i]!.label !== g2.nodes[j]!.label) {
        cost += labelCost;
        relabelled++;
      }
    }
  }
  let inserted = 0;
  for (let j = 0; j < g2.nodes.length; j++) if (map21[j]! < 0) {
    cost += 1;
    inserted++;
  }
  const e2 = new Map<string, number>();
  for (const e of g2.edges) {
    const k = `${e.from},${e.to},${e.kind},${e.role}`;
    e2.set(k, (e2.get(k) ?? 0) + 1);
  }
  let kept = 0;
  for (const e of g1.edges) {
    const a = map12[e.from]!;
    const b = map12[e.to]!;
    if (a >= 0 && b >= 0) {
      const k = `${a},${b},${e.kind},${e.role}`;
      const c = e2.get(k) ?? 0;
      if (c > 0) {
        e2.set(k, c - 1);
        kept++;
        continue;
      }
    }
  }
  cost += g1.edges.length - kept + (g2.edges.length - kept);
  const maxCost = g1.nodes.length + g2.nodes.length + g1.edges.length + g2.edges.length;
  const similarity = maxCost === 0 ? 1 : Math.min(1, Math.max(0, 1 - cost / maxCost));
  return {
    similarity,
    cost,
    maxCost,
    nodes1: g1.nodes.length,
    nodes2: g2.nodes.length,
    edges1: g1.edges.length,
    edges2: g2.edges.length,
    substituted,
    relabelled,
    deleted,
    inserted,
    edgesKept: kept,
    greedy,
  };
}
