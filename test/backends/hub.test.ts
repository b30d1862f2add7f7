// Hub ids: resolved offline from the standard Hugging Face cache layout, a clear error when missing offline, and
// the download path (@huggingface/hub) against a local HTTP server that answers the hub's endpoints (model info,
// tree listing, paths-info, resolve with Range probe / ETag) for a random-weight model the test writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { findCachedSnapshot, hubCacheDir, parseHubId, resolveHubModel } from "../../src/backends/hub.js";
import { loadHfFolder, saveHfFolder } from "../../src/engine/hf.js";
import { LlamaModel } from "../../src/engine/model.js";
import { UserError } from "../../src/core/errors.js";
import { ARCH_CONFIGS, randomModel } from "../engine/arch-helpers.js";

interface Served {
  url: string;
  requests: string[];
  close: () => Promise<void>;
}

/** A minimal hub: one model repo at one commit, with extra files a model load must not fetch. */
async function serveHub(repo: string, sha: string, dir: string): Promise<Served> {
  const files = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir)) files.set(f, fs.readFileSync(path.join(dir, f)));
  files.set("README.md", Buffer.from("# test model\n"));
  files.set("pytorch_model.bin", Buffer.from("not needed"));
  const oid = (b: Buffer): string => crypto.createHash("sha1").update(b).digest("hex");
  const sha256 = (b: Buffer): string => crypto.createHash("sha256").update(b).digest("hex");
  const isLfs = (f: string): boolean => f.endsWith(".safetensors") || f.endsWith(".bin");
  const entry = (f: string) => {
    const b = files.get(f)!;
    return {
      type: "file",
      path: f,
      oid: oid(b),
      size: b.length,
      ...(isLfs(f) ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 130 } } : {}),
    };
  };
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const api = `/api/models/${repo}`;
    if (req.method === "GET" && url.pathname.startsWith(`${api}/revision/`)) {
      return json(200, {
        _id: "0123",
        id: repo,
        sha,
        private: false,
        downloads: 0,
        likes: 0,
        lastModified: "2025-01-01T00:00:00.000Z",
      });
    }
    if (req.method === "GET" && url.pathname === `${api}/tree/${sha}`) return json(200, [...files.keys()].map(entry));
    if (req.method === "POST" && url.pathname === `${api}/paths-info/${sha}`) {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const { paths } = JSON.parse(body) as { paths: string[] };
        json(
          200,
          paths
            .filter((p) => files.has(p))
            .map((p) => ({ ...entry(p), lastCommit: { id: sha, title: "init", date: "2025-01-01T00:00:00.000Z" } })),
        );
      });
      return;
    }
    const prefix = `/${repo}/resolve/${sha}/`;
    if (req.method === "GET" && url.pathname.startsWith(prefix)) {
      const f = decodeURIComponent(url.pathname.slice(prefix.length));
      const b = files.get(f);
      if (!b) {
        res.writeHead(404, { "X-Error-Code": "EntryNotFound" });
        return res.end();
      }
      const etag = `"${isLfs(f) ? sha256(b) : oid(b)}"`;
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      if (range) {
        const [s, e] = [Number(range[1]), Math.min(Number(range[2]), b.length - 1)];
        res.writeHead(206, { "Content-Range": `bytes ${s}-${e}/${b.length}`, ETag: etag, "Content-Length": e - s + 1 });
        return res.end(b.subarray(s, e + 1));
      }
      res.writeHead(200, { ETag: etag, "Content-Length": b.length });
      return res.end(b);
    }
    res.writeHead(404, { "X-Error-Code": "RepoNotFound" });
    res.end(JSON.stringify({ error: "Repository not found" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

test("hub ids: parse, cache location from HF_HUB_CACHE / HF_HOME", () => {
  assert.deepEqual(parseHubId("Qwen/Qwen2.5-Coder-0.5B-Instruct"), {
    repo: "Qwen/Qwen2.5-Coder-0.5B-Instruct",
    revision: "main",
  });
  assert.deepEqual(parseHubId("org/m@v1.0"), { repo: "org/m", revision: "v1.0" });
  assert.throws(() => parseHubId("just-a-name"), UserError);
  const saved = { HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HOME: process.env.HF_HOME };
  try {
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = "/tmp/hfhome";
    assert.equal(hubCacheDir(), "/tmp/hfhome/hub");
    process.env.HF_HUB_CACHE = "/tmp/hubcache";
    assert.equal(hubCacheDir(), "/tmp/hubcache");
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
});

test("hub ids: offline miss is a clear error; download from a hub-shaped server fills the standard cache; then offline hit", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hub-"));
  const repo = "test-org/tiny-qwen2";
  const sha = crypto.createHash("sha1").update("commit").digest("hex");
  const cacheDir = path.join(root, "cache");
  const src = path.join(root, "src");
  const model = randomModel(ARCH_CONFIGS.qwen2!, 5);
  saveHfFolder(src, model.config, model.weights, {
    dtype: "BF16",
    shards: 2,
    generationConfig: { eos_token_id: 2 },
    extraFiles: { "tokenizer_config.json": JSON.stringify({ chat_template: "{{ bos_token }}" }) },
  });
  const hub = await serveHub(repo, sha, src);
  try {
    await assert.rejects(
      resolveHubModel(repo, { cacheDir }),
      (e: Error) =>
        e instanceof UserError &&
        e.message.includes(path.join(cacheDir, "models--test-org--tiny-qwen2")) &&
        /--allow-download/.test(e.message),
    );
    assert.equal(hub.requests.length, 0, "offline resolution made no request");
    const snap = await resolveHubModel(repo, { cacheDir, allowDownload: true, endpoint: hub.url });
    assert.equal(snap, path.join(cacheDir, "models--test-org--tiny-qwen2", "snapshots", sha));
    assert.equal(fs.readFileSync(path.join(cacheDir, "models--test-org--tiny-qwen2", "refs", "main"), "utf8"), sha);
    assert.ok(fs.lstatSync(path.join(snap, "config.json")).isSymbolicLink(), "snapshot files link into blobs/");
    const fetched = hub.requests.filter((r) => r.includes("/resolve/")).map((r) => r.split("/").pop());
    assert.ok(
      !fetched.includes("README.md") && !fetched.includes("pytorch_model.bin"),
      `fetched only model files: ${fetched}`,
    );
    assert.ok(fetched.includes("model-00002-of-00002.safetensors"));
    const hf = loadHfFolder(snap);
    assert.equal(hf.chatTemplate, "{{ bos_token }}");
    const ref = new LlamaModel(hf.config, loadHfFolder(src).weights).forwardLogits([1, 4, 9]);
    assert.deepEqual(new LlamaModel(hf.config, hf.weights).forwardLogits([1, 4, 9]), ref);
    // offline again: found through refs/main, and by commit
    const before = hub.requests.length;
    assert.equal(await resolveHubModel(repo, { cacheDir }), snap);
    assert.equal(findCachedSnapshot(`${repo}@${sha}`, cacheDir), snap);
    assert.equal(hub.requests.length, before);
    // HF_HUB_OFFLINE wins over --allow-download
    process.env.HF_HUB_OFFLINE = "1";
    try {
      await assert.rejects(
        resolveHubModel("test-org/other", { cacheDir, allowDownload: true, endpoint: hub.url }),
        /HF_HUB_OFFLINE is set/,
      );
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    await assert.rejects(
      resolveHubModel("test-org/missing", { cacheDir, allowDownload: true, endpoint: hub.url }),
      (e: Error) => e instanceof UserError && /cannot fetch model test-org\/missing@main/.test(e.message),
    );
  } finally {
    await hub.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
