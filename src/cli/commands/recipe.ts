/**
 * `batcoder recipe FILE`: what a scale-out recipe (e.g. configs/paper-7b.json) is, what it would cost, the exact
 * commands to run it on Tinker or a self-hosted SkyRL tx + vLLM (not run here), and `--dry-run`: the whole
 * orchestration against a local Tinker-protocol server with a tiny model and the recipe's batch shapes.
 */
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { dryRun, estimateCost, formatCost, loadRecipe, recipeCommands } from "../../orchestration/recipe.js";

export const help = `batcoder recipe FILE [--json] [--dry-run [--steps N] [--corpus DIR]]

Prints the recipe (base model, what is public from the paper and what is our choice, expected results), a cost
estimate in tokens and GPU-hours derived from its RL config, and the exact commands for Tinker and for SkyRL tx +
vLLM. Those commands are NOT run by this command.

  --json           the cost estimate as JSON
  --dry-run        run the whole orchestration (rollouts, rewards, advantages, updates over the Tinker protocol,
                   checkpoints, held-out eval) against a local server with a tiny random model, keeping the
                   recipe's batch shapes; writes runs/<run_name>-dryrun/
  --steps N        dry-run steps                                        [1]
  --corpus DIR     dry-run corpus                                       [data/corpus/default]`;

export async function run(argv: string[]): Promise<number> {
  let values, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        json: { type: "boolean" },
        "dry-run": { type: "boolean" },
        steps: { type: "string" },
        corpus: { type: "string" },
      },
      allowPositionals: true,
    }));
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${help}`);
  }
  if (positionals.length !== 1) throw new UserError(`expected one recipe file\n\n${help}`);
  const file = positionals[0]!;
  const { recipe, rl } = loadRecipe(file);
  const est = estimateCost(rl, recipe);
  if (values.json) {
    console.log(JSON.stringify(est, null, 1));
  } else {
    console.log(
      `${recipe.description}\nbase model: ${recipe.base_model} (${recipe.params_b}B, LoRA rank ${recipe.lora_rank}); source: ${recipe.source}`,
    );
    for (const [k, v] of Object.entries(recipe.provenance)) console.log(`  ${k}: ${v}`);
    console.log(
      `expected: ${Object.entries(recipe.expected)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}\n`,
    );
    console.log(
      `cost estimate (${rl.max_steps} steps of ${rl.rollout_batch_size} codes × ${rl.num_docs_per_code} docs × ${rl.num_codes_per_doc} rebuilds):`,
    );
    console.log(formatCost(est));
    console.log(`\n${recipeCommands(file, recipe)}`);
  }
  if (values["dry-run"]) {
    const steps = values.steps === undefined ? 1 : Number(values.steps);
    if (!Number.isInteger(steps) || steps < 1 || steps > 100)
      throw new UserError(`--steps must be an integer in 1..100, got '${values.steps}'`);
    const r = await dryRun({
      file,
      steps,
      ...(values.corpus ? { corpus: values.corpus } : {}),
      log: (s) => console.error(s),
    });
    console.log(
      `\ndry run OK: ${r.steps} step(s), ${r.shapes.code2doc} code→doc + ${r.shapes.doc2code} doc→code sequences per step, ` +
        `${r.serverCounts.forward_backward ?? 0} forward_backward / ${r.serverCounts.optim_step ?? 0} optim_step / ${r.serverCounts.asample ?? 0} asample calls; run in ${r.runDir}`,
    );
  } else if (values.steps !== undefined || values.corpus !== undefined) {
    throw new UserError("--steps and --corpus apply only with --dry-run");
  }
  return 0;
}
