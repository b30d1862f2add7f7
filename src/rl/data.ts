/**
 * Training items for RL: CODE ONLY. Documentation that happens to be in the corpus is stripped here so the RL
 * loop never sees a code–doc pair. A cursor walks a seeded permutation per epoch; its position is part of the
 * trainer state, so a resumed run sees exactly the batches the uninterrupted run would have seen.
 */
import { Rng, hashSeed } from "../core/rng.js";

export interface CodeItem {
  id: string;
  lang: string;
  code: string;
  /** Function signature (used only when signature_hint is on). */
  signature?: string | null;
  /** RL never sees code–doc pairs: an item carrying documentation is a type error wherever a CodeItem is asked for. */
  doc?: never;
}

/**
 * A held-out EVALUATION item: code plus its human documentation (canonicalised). Only evaluation and SFT see
 * code–doc pairs; the RL loop takes `CodeItem`, which cannot hold documentation.
 */
export interface HeldOutItem extends Omit<CodeItem, "doc"> {
  doc: string;
}

export interface CursorState {
  epoch: number;
  pos: number;
}

export class DataCursor {
  private order: number[] = [];
  private orderEpoch = -1;
  constructor(
    private readonly n: number,
    private readonly seed: number,
    public state: CursorState = { epoch: 0, pos: 0 },
  ) {
    if (n <= 0) throw new Error("DataCursor: no items");
  }
  private ensureOrder(): void {
    if (this.orderEpoch === this.state.epoch) return;
    const idx = Array.from({ length: this.n }, (_, i) => i);
    this.order = new Rng(hashSeed(this.seed, 0xda7a, this.state.epoch)).shuffle(idx);
    this.orderEpoch = this.state.epoch;
  }
  /** The next `k` item indices (wrapping into the next epoch's permutation). */
  next(k: number): number[] {
    const out: number[] = [];
    while (out.length < k) {
      this.ensureOrder();
      if (this.state.pos >= this.n) {
        this.state = { epoch: this.state.epoch + 1, pos: 0 };
        continue;
      }
      out.push(this.order[this.state.pos]!);
      this.state = { epoch: this.state.epoch, pos: this.state.pos + 1 };
    }
    return out;
  }
}
