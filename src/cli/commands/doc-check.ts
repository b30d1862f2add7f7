/**
 * `batcoder doc-check FILE [--code CODEFILE --lang L] [--json]`
 * Validates a documentation text against the documentation format and, given the code, checks it for
 * code leakage. Exit code 0 when valid (and not leaking), 1 otherwise.
 */
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { loadLanguage } from "../../lang/index.js";
import { validateDoc, detectLeak, DOC_FORMAT_SPEC, type LeakResult } from "../../similarity/index.js";
import { readCodeFile, resolveLang } from "./similarity.js";

export const help = `batcoder doc-check FILE [options]

Checks the documentation text in FILE against the documentation format, and for code leakage when
--code is given. Exits 0 when the text is valid and does not leak, 1 otherwise.

Options:
  --code CODEFILE  the code the documentation describes (enables the leak check)
  --lang L         language of CODEFILE (default: detected from its name)
  --spec           print the documentation format and exit
  --json           print JSON
  -h, --help       this help`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        code: { type: "string" },
        lang: { type: "string" },
        json: { type: "boolean", default: false },
        spec: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    throw new UserError(`doc-check: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.spec) {
    console.log(DOC_FORMAT_SPEC);
    return 0;
  }
  if (positionals.length !== 1) throw new UserError("doc-check: expected one documentation FILE (see --help)");
  const file = positionals[0]!;
  if (values.lang && !values.code) throw new UserError("doc-check: --lang needs --code");
  const doc = readCodeFile(file, "documentation file");
  const v = validateDoc(doc);
  let leak: LeakResult | null = null;
  if (values.code) {
    const code = readCodeFile(values.code, "code file");
    const lang = resolveLang(values.lang, values.code, code);
    await loadLanguage(lang);
    leak = detectLeak(doc, code, lang);
  }
  const ok = v.valid && !(leak?.leaked ?? false);
  if (values.json) console.log(JSON.stringify({ file, valid: v.valid, violations: v.violations, leak, ok }, null, 2));
  else {
    console.log(
      v.valid
        ? `${file}: format OK`
        : `${file}: ${v.violations.length} format violation(s):\n${v.violations.map((x) => `  - ${x}`).join("\n")}`,
    );
    if (leak)
      console.log(
        leak.leaked
          ? `leak: YES (${(leak.fraction * 100).toFixed(0)}% of the code)\n${leak.reasons.map((r) => `  - ${r}`).join("\n")}`
          : `leak: no (${(leak.fraction * 100).toFixed(0)}%)`,
      );
  }
  return ok ? 0 : 1;
}
