/**
 * Worker thread of the RewardPool: loads grammars on demand and scores chunks of reward jobs.
 * Messages in: {id, jobs: RewardJob[]}; out: {id, results: (RewardBreakdown | {error})[]}.
 */
import { parentPort } from "node:worker_threads";
import { loadLanguage } from "../lang/index.js";
import { reward } from "./reward.js";
import type { RewardJob, RewardJobResult } from "./pool.js";

if (!parentPort) throw new Error("pool-worker must run inside a worker thread");
const port = parentPort;

port.on("message", async (msg: { id: number; jobs: RewardJob[] }) => {
  const results: RewardJobResult[] = [];
  for (const j of msg.jobs) {
    try {
      await loadLanguage(j.lang);
      results.push(reward(j.code, j.doc, j.rebuilt, j.lang, j.cfg, j.docCheck));
    } catch (e) {
      const err = e as Error & { userFacing?: boolean };
      results.push({ error: err?.message ?? String(e), userFacing: !!err?.userFacing });
    }
  }
  port.postMessage({ id: msg.id, results });
});
