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
 * The assignment costs are structural: a node's incident edges by kind, direction and neighbour class, with
 * edge roles and the labels of operators, constants and parameters only breaking ties, so an operation is
 * matched to the node at its position in the graph even when its operator, value or operand order changed.
 *
 * Costs of the induced edit: node deletion/insertion 1, substitution 0 (same label) or `labelCost` (same
 * class, different label; `opLabelCost` for operators, `constLabelCost` for numbers), edge deletion/insertion
 * 1 (an edge is preserved when both ends map and kind and role agree). Normalisation: structural = 1 - cost /
 * (|V1| + |V2| + |E1| + |E2|), the cost of deleting one graph and inserting the other, so it lies in [0, 1].
 *
 * Semantic edits: a size-normalised cost lets a one-token break of a large function (a flipped comparison, an
 * off-by-one) score ~0.98, above any rewrite that restructures it. So every point mutation of an operation
 * (`countSemanticEdits`) multiplies the similarity by `semanticEditFactor` (default SEMANTIC_EDIT_FACTOR,
 * chosen on the development half of the near-miss benchmark, bench/similarity/nearmiss.ts --split dev):
 * similarity = structural x factor^edits.
 */
import type { Pdg } from "./pdg.js";

export interface GedOptions {
  /** Cost of substituting a node by one of the same class but another label (default 0.5). */
  labelCost?: number;
  /** Relabelling cost for operator nodes (default 3: a flipped comparison or a changed arithmetic operator
   * changes behaviour as much as a rewritten statement, so it costs more than a deleted node). */
  opLabelCost?: number;
  /** Relabelling cost for one number constant into another (default 2: an off-by-one changes behaviour). */
  constLabelCost?: number;
  /** Weight of the local-edge term in the assignment costs (default 1). */
  edgeWeight?: number;
  /** Above this many nodes in one class, use a greedy assignment (default 400). */
  maxGroup?: number;
  /** Factor applied once per semantic edit (see `semanticEdits`): similarity = structural x factor^edits
   * (default SEMANTIC_EDIT_FACTOR; 1 turns it off). */
  semanticEditFactor?: number;
}

export interface GedResult {
  /** structural x semanticEditFactor^semanticEdits */
  similarity: number;
  /** 1 - cost / maxCost: the normalised graph edit similarity alone */
  structural: number;
  /** Matched operations whose identity differs: an operator or constant node substituted by one with another
   * label, or a matched node whose matched operand / control edges carry other roles (swapped operands or
   * arguments, swapped branch arms). Counted once per node of the reference graph. */
  semanticEdits: number;
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

/** 32-bit FNV-1a hash of a string (features are hashed, not interned, so nothing grows across calls). */
export function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

interface Features {
  /** per node: sorted multiset of incident edge descriptors (direction, kind, neighbour class; no role) */
  sig: Int32Array[];
  deg: Int32Array;
  /** Weisfeiler-Lehman colours after 1..WL_ROUNDS refinements, from labels and edge roles */
  wl: Int32Array[];
  /** the same without edge roles and without the labels of identity classes: a node's structural position */
  wlBare: Int32Array[];
  /** per edge: hash of kind and role */
  edgeCode: Int32Array;
}

/** Classes whose label is the operation's identity (operator, constant value, parameter position). */
const IDENTITY_CLASSES = new Set(["op", "const", "param"]);
const WL_ROUNDS = 3;
const featureCache = new WeakMap<Pdg, Features>();

/**
 * Per-graph features, computed once per graph (a cached reference graph reuses them). The Weisfeiler-Lehman
 * colours only break ties between nodes whose local costs are equal, e.g. two `x = 0` whose uses differ
 * further away.
 */
function features(g: Pdg): Features {
  const hit = featureCache.get(g);
  if (hit) return hit;
  const clsH = g.nodes.map((x) => strHash(x.cls));
  const edgeCode = Int32Array.from(g.edges, (e) => strHash(`${e.kind}:${e.role}`));
  const bareCode = Int32Array.from(g.edges, (e) => strHash(e.kind));
  const lists: number[][] = g.nodes.map(() => []);
  g.edges.forEach((e, k) => {
    lists[e.from]!.push(mix(mix(bareCode[k]!, 1), clsH[e.to]!));
    lists[e.to]!.push(mix(mix(bareCode[k]!, 2), clsH[e.from]!));
  });
  const sig = lists.map((l) => Int32Array.from(l).sort());
  const deg = Int32Array.from(lists.map((l) => l.length));
  const wl = wlColours(
    g,
    edgeCode,
    g.nodes.map((x) => strHash(`${x.cls}|${x.label}`)),
  );
  const wlBare = wlColours(
    g,
    bareCode,
    g.nodes.map((x) => strHash(IDENTITY_CLASSES.has(x.cls) ? x.cls : `${x.cls}|${x.label}`)),
  );
  const f = { sig, deg, wl, wlBare, edgeCode };
  featureCache.set(g, f);
  return f;
}

/** Weisfeiler-Lehman colours after 1..WL_ROUNDS refinements from the given initial colours. */
function wlColours(g: Pdg, edgeCode: Int32Array, init: number[]): Int32Array[] {
  const n = g.nodes.length;
  let cur = Int32Array.from(init);
  const wl: Int32Array[] = [];
  const nb: number[][] = g.nodes.map(() => []);
  for (let r = 0; r < WL_ROUNDS; r++) {
    for (const l of nb) l.length = 0;
    g.edges.forEach((e, k) => {
      nb[e.from]!.push(mix(mix(edgeCode[k]!, 1), cur[e.to]!));
      nb[e.to]!.push(mix(mix(edgeCode[k]!, 2), cur[e.from]!));
    });
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const l = nb[i]!.sort((a, b) => a - b);
      let h = mix(0x1e3779b9, cur[i]!);
      for (const x of l) h = mix(h, x);
      next[i] = h;
    }
    cur = next;
    wl.push(cur);
  }
  return wl;
}

/** Size of the symmetric difference of two sorted multisets. */
function sigDiff(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return a.length + b.length - 2 * common;
}

/** Default of `semanticEditFactor`. */
export const SEMANTIC_EDIT_FACTOR = 0.25;

/**
 * Semantic edits under a node mapping: point mutations of an operation. A matched reference node counts when
 * its context is intact (every incident edge joins it to a matched neighbour, and the candidate node has the
 * same incident edges, kinds and directions, to the images of those neighbours) and yet the operation differs:
 * another label for an operator, a constant, a parameter position or an augmented assignment (`<` vs `<=`, `1` vs
 * `2`, `+=` vs `-=`),
 * or other roles on the same edges (`a - b` vs `b - a`, `f(x, y)` vs `f(y, x)`, swapped then/else arms).
 * Differences inside a rewritten region (neighbours deleted, inserted or matched elsewhere) are structural, and
 * the edit cost already counts them.
 */
function countSemanticEdits(g1: Pdg, g2: Pdg, map12: Int32Array, F1: Features, F2: Features): number {
  const augmented = (l: string): boolean => /^[^\w=]+=$/.test(l);
  // per node, order-free hashes (sums of mixed 32-bit codes) of its incident edges: `bare` by kind, direction
  // and (mapped) neighbour, `roled` with the role too. An edge to an unmatched neighbour gets a code no
  // candidate edge has, so the node's context is not intact. A role belongs to the operation that reads the
  // operand (incoming data edges) or to the branch that owns the arm (outgoing control edges), so one swap is
  // one edit however many nodes sit under the arms.
  const n1 = g1.nodes.length;
  const n2 = g2.nodes.length;
  const bare1 = new Int32Array(n1);
  const bare2 = new Int32Array(n2);
  const roled1 = new Int32Array(n1);
  const roled2 = new Int32Array(n2);
  const deg1 = new Int32Array(n1);
  const deg2 = new Int32Array(n2);
  const reads1 = new Uint8Array(n1);
  const code = (kind: number, dir: number, nb: number): number => mix(mix(kind, dir), nb);
  const kinds = new Map<string, number>();
  const add = (g: Pdg, F: Features, map: Int32Array | null, bare: Int32Array, roled: Int32Array, deg: Int32Array) =>
    g.edges.forEach((e, k) => {
      let kind = kinds.get(e.kind);
      if (kind === undefined) kinds.set(e.kind, (kind = strHash(e.kind)));
      const f = map ? map[e.from]! : e.from;
      const t = map ? map[e.to]! : e.to;
      const fOut = f < 0 ? 0x7fffffff : f;
      const tIn = t < 0 ? 0x7fffffff : t;
      const out = code(kind, 1, tIn);
      const inn = code(kind, 2, fOut);
      bare[e.from] = (bare[e.from]! + out) | 0;
      bare[e.to] = (bare[e.to]! + inn) | 0;
      const roleCode = F.edgeCode[k]!;
      roled[e.from] = (roled[e.from]! + (e.kind === "ctl" ? mix(out, roleCode) : out)) | 0;
      roled[e.to] = (roled[e.to]! + (e.kind === "ctl" ? inn : mix(inn, roleCode))) | 0;
      deg[e.from]!++;
      deg[e.to]!++;
    });
  add(g1, F1, map12, bare1, roled1, deg1);
  add(g2, F2, null, bare2, roled2, deg2);
  for (const e of g1.edges) if (e.kind === "data") reads1[e.from] = 1;
  let edits = 0;
  for (let i = 0; i < n1; i++) {
    const j = map12[i]!;
    if (j < 0 || deg1[i] !== deg2[j] || bare1[i] !== bare2[j]) continue;
    const a = g1.nodes[i]!;
    const b = g2.nodes[j]!;
    // a value nothing reads (a stray string statement) is dead code: its label is no semantic edit
    const relabel =
      a.label !== b.label &&
      reads1[i] === 1 &&
      (IDENTITY_CLASSES.has(a.cls) || (a.cls === "assign" && augmented(a.label) && augmented(b.label)));
    if (relabel || roled1[i] !== roled2[j]) edits++;
  }
  return edits;
}

/** Roots map to roots (both graphs start with the program root at index 0). */
function rootsToRoots(g1: Pdg, g2: Pdg, map12: Int32Array, map21: Int32Array): void {
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
}

/**
 * Node assignment per class (Riesen-Bunke bipartite approximation, solved exactly per class with the Hungarian
 * algorithm, greedily above `maxGroup` nodes); fills map12 / map21 and returns whether a greedy one was used.
 */
function assignByClass(
  g1: Pdg,
  g2: Pdg,
  subCost: (i: number, j: number) => number,
  delCost: (i: number) => number,
  insCost: (j: number) => number,
  maxGroup: number,
  map12: Int32Array,
  map21: Int32Array,
): boolean {
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

  for (const [, [A, B]] of groups) {
    const n = A.length;
    const m = B.length;
    if (n === 0 || m === 0) continue;
    if (n + m > maxGroup) {
      greedy = true;
      const pairs: Array<[number, number, number]> = [];
      for (const i of A)
        for (const j of B) {
          const c = subCost(i, j);
          if (c < delCost(i) + insCost(j)) pairs.push([c - delCost(i) - insCost(j), i, j]);
        }
      pairs.sort((x, y) => x[0] - y[0]);
      for (const [, i, j] of pairs)
        if (map12[i] === -1 && map21[j] === -1) {
          map12[i] = j;
          map21[j] = i;
        }
      continue;
    }
    // Riesen-Bunke: the (n+m)-square problem [sub | del ; ins | 0] has the same optimum as the max(n,m)-square
    // problem on reduced costs min(0, sub - del - ins) padded with zeros (a pair whose reduced cost is not
    // negative is better deleted and inserted), which is up to 8 times cheaper to solve.
    const N = Math.max(n, m);
    const C = new Float64Array(N * N);
    for (let r = 0; r < n; r++) {
      const dr = delCost(A[r]!);
      for (let c = 0; c < m; c++) {
        const red = subCost(A[r]!, B[c]!) - dr - insCost(B[c]!);
        C[r * N + c] = red < 0 ? red : 0;
      }
    }
    const assign = hungarian(C, N);
    for (let r = 0; r < n; r++) {
      const c = assign[r]!;
      if (c >= 0 && c < m && C[r * N + c]! < 0) {
        map12[A[r]!] = B[c]!;
        map21[B[c]!] = A[r]!;
      }
    }
  }
  return greedy;
}

export function graphEditSimilarity(g1: Pdg, g2: Pdg, opts: GedOptions = {}): GedResult {
  const labelCost = opts.labelCost ?? 0.5;
  const opLabelCost = opts.opLabelCost ?? 3;
  const constLabelCost = opts.constLabelCost ?? 2;
  const augmented = (l: string): boolean => /^[^\w=]+=$/.test(l);
  const relabel = (cls: string, a = "", b = ""): number =>
    cls === "op" || (cls === "assign" && augmented(a) && augmented(b))
      ? opLabelCost
      : cls === "const" && a.startsWith("num:") && b.startsWith("num:")
        ? constLabelCost
        : labelCost;
  const ew = opts.edgeWeight ?? 1;
  const maxGroup = opts.maxGroup ?? 400;
  const F1 = features(g1);
  const F2 = features(g2);
  const map12 = new Int32Array(g1.nodes.length).fill(-1);
  const map21 = new Int32Array(g2.nodes.length).fill(-1);
  const delCost = (i: number): number => 1 + (ew * F1.deg[i]!) / 2;
  const insCost = (j: number): number => 1 + (ew * F2.deg[j]!) / 2;

  // The assignment is structural: edge roles and the labels of identity classes (operators, constants,
  // parameters) only break ties, so an operation is matched to the node at its position even when its label or
  // operand order changed, which is what `countSemanticEdits` reads; a decoy elsewhere in the candidate (an
  // appended function with the reference's operator) cannot attract it away. The induced cost below still
  // charges every relabelling and every edge whose role differs.
  const subCost = (i: number, j: number): number => {
    const a = g1.nodes[i]!;
    const b = g2.nodes[j]!;
    // an identity label only breaks ties (less than one differing edge, 0.5): `a = 0; b = 1` reordered
    let c = a.label === b.label ? 0 : IDENTITY_CLASSES.has(a.cls) ? 0.1 : labelCost;
    c += (ew * sigDiff(F1.sig[i]!, F2.sig[j]!)) / 2;
    for (let r = 0; r < WL_ROUNDS; r++) {
      if (F1.wlBare[r]![i] !== F2.wlBare[r]![j]) c += 0.02;
      // labelled neighbourhoods break the remaining ties (two structurally identical loops)
      if (F1.wl[r]![i] !== F2.wl[r]![j]) c += 0.01;
    }
    return c;
  };
  const greedy = assignByClass(g1, g2, subCost, delCost, insCost, maxGroup, map12, map21);
  rootsToRoots(g1, g2, map12, map21);

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
        cost += relabel(g1.nodes[i]!.cls, g1.nodes[i]!.label, g2.nodes[j]!.label);
        relabelled++;
      }
    }
  }
  let inserted = 0;
  for (let j = 0; j < g2.nodes.length; j++)
    if (map21[j]! < 0) {
      cost += 1;
      inserted++;
    }
  // edges of g2 by (from, to) -> kind/role codes still unmatched
  const n2 = g2.nodes.length;
  const e2 = new Map<number, number[]>();
  g2.edges.forEach((e, k) => {
    const key = e.from * n2 + e.to;
    const l = e2.get(key);
    if (l) l.push(F2.edgeCode[k]!);
    else e2.set(key, [F2.edgeCode[k]!]);
  });
  let kept = 0;
  g1.edges.forEach((e, k) => {
    const a = map12[e.from]!;
    const b = map12[e.to]!;
    if (a < 0 || b < 0) return;
    const l = e2.get(a * n2 + b);
    if (!l) return;
    const at = l.indexOf(F1.edgeCode[k]!);
    if (at >= 0) {
      l.splice(at, 1);
      kept++;
    }
  });
  cost += g1.edges.length - kept + (g2.edges.length - kept);
  const maxCost = g1.nodes.length + g2.nodes.length + g1.edges.length + g2.edges.length;
  const structural = maxCost === 0 ? 1 : Math.min(1, Math.max(0, 1 - cost / maxCost));
  const semanticEdits = countSemanticEdits(g1, g2, map12, F1, F2);
  const similarity = structural * (opts.semanticEditFactor ?? SEMANTIC_EDIT_FACTOR) ** semanticEdits;
  return {
    similarity,
    structural,
    semanticEdits,
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
