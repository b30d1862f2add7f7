/**
 * Sharded, gzip-compressed JSONL output: DIR/<split>/shard-NNNNN.jsonl.gz, a new shard every
 * `shardRecords` records. Writes respect back-pressure, so memory stays flat however much is written.
 * Output bytes depend only on the records written (gzip header without mtime), so rebuilds are byte-identical.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { once } from "node:events";

export interface ShardInfo {
  /** Path relative to the corpus directory. */
  path: string;
  split: string;
  records: number;
  bytes: number;
  sha256: string;
}

class OpenShard {
  readonly gz: zlib.Gzip;
  readonly file: fs.WriteStream;
  readonly hash = createHash("sha256");
  bytes = 0;
  records = 0;
  readonly closed: Promise<void>;
  constructor(
    readonly abs: string,
    readonly rel: string,
    level: number,
  ) {
    // a large write buffer lets compression (on the libuv thread pool) overlap with the analysis instead of
    // blocking it at every 16 KiB
    this.gz = zlib.createGzip({ level, writableHighWaterMark: 2 << 20 } as zlib.ZlibOptions);
    this.file = fs.createWriteStream(abs);
    this.gz.on("data", (c: Buffer) => {
      this.hash.update(c);
      this.bytes += c.length;
    });
    this.gz.pipe(this.file);
    this.closed = new Promise((resolve, reject) => {
      this.file.on("close", resolve);
      this.file.on("error", reject);
      this.gz.on("error", reject);
    });
  }
}

export class ShardedWriter {
  private cur: OpenShard | null = null;
  private index = 0;
  readonly shards: ShardInfo[] = [];
  constructor(
    private readonly root: string,
    readonly split: string,
    private readonly shardRecords: number,
    private readonly level = 9,
  ) {}

  /** Writes one line (a JSON text without the newline). */
  async write(line: string): Promise<void> {
    if (this.cur && this.cur.records >= this.shardRecords) await this.closeCurrent();
    if (!this.cur) {
      const dir = path.join(this.root, this.split);
      await fs.promises.mkdir(dir, { recursive: true });
      const rel = `${this.split}/shard-${String(this.index++).padStart(5, "0")}.jsonl.gz`;
      this.cur = new OpenShard(path.join(this.root, rel), rel, this.level);
    }
    this.cur.records++;
    if (!this.cur.gz.write(line + "\n")) await once(this.cur.gz, "drain");
  }

  private async closeCurrent(): Promise<void> {
    const s = this.cur;
    if (!s) return;
    this.cur = null;
    s.gz.end();
    await s.closed;
    this.shards.push({
      path: s.rel,
      split: this.split,
      records: s.records,
      bytes: s.bytes,
      sha256: s.hash.digest("hex"),
    });
  }

  async close(): Promise<ShardInfo[]> {
    await this.closeCurrent();
    return this.shards;
  }
}

/** A plain (uncompressed) JSONL side file such as contamination.jsonl, with back-pressure. */
export class JsonlFile {
  private readonly stream: fs.WriteStream;
  private readonly closed: Promise<void>;
  count = 0;
  constructor(readonly file: string) {
    this.stream = fs.createWriteStream(file);
    this.closed = new Promise((resolve, reject) => {
      this.stream.on("close", resolve);
      this.stream.on("error", reject);
    });
  }
  async write(obj: unknown): Promise<void> {
    this.count++;
    if (!this.stream.write(JSON.stringify(obj) + "\n")) await once(this.stream, "drain");
  }
  async close(): Promise<void> {
    this.stream.end();
    await this.closed;
  }
}
