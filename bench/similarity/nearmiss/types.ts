export interface NearMissRef {
  id: string;
  entry: string;
  code: string;
  /** Semantics-preserving rewrites by kind (loop-to-comprehension, negated-if, for-to-while, inlined-helper, ...). */
  rewrites: Record<string, string>;
  /** Hand-picked argument lists (JSON) used in checking the labels. */
  inputs: unknown[][];
}

export interface NearMissPair {
  id: string;
  lang: "python" | "ruby" | "javascript";
  ref: string;
  entry: string;
  /** "rewrite:<kind>" (label 1) or "break:<kind>" (label 0). */
  kind: string;
  label: 0 | 1;
  original: string;
  variant: string;
  /** How the label was checked: inputs run and how many of them disagreed. */
  check: { inputs: number; disagree: number };
}
