/**
 * A .gitignore matcher (the documented gitignore pattern syntax): blank lines and `#` comments, `!`
 * negation, trailing `/` for directories only, leading or inner `/` anchoring a pattern to its .gitignore's
 * directory, `*`, `?`, `[…]` and `**`. The last matching rule wins; rules of deeper .gitignore files come
 * after (and so override) those of their parents.
 */

export interface IgnoreRule {
  /** Directory (relative to the walk root, "" for the root) whose .gitignore holds the rule. */
  base: string;
  negate: boolean;
  dirOnly: boolean;
  re: RegExp;
  source: string;
}

function globToRegex(glob: string): string {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // "**/" → zero or more directories; "/**" at the end → everything inside; "**" → anything
        if (glob[i + 2] === "/") {
          re += "(?:.*/)?";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) re += "\\[";
      else {
        let cls = glob.slice(i + 1, close);
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        re += "[" + cls.replace(/\\/g, "\\\\") + "]";
        i = close;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      re += glob[i + 1]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i++;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return re;
}

/** Parses the text of one .gitignore located at `base` (relative dir, "" for the root). */
export function parseGitignore(text: string, base: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    // trailing spaces are ignored unless escaped
    line = line.replace(/(?<!\\)\s+$/, "");
    if (!line) continue;
    let negate = false;
    if (line.startsWith("!")) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith("\\!") || line.startsWith("\\#")) line = line.slice(1);
    let dirOnly = false;
    if (line.endsWith("/")) {
      dirOnly = true;
      line = line.slice(0, -1);
    }
    if (!line) continue;
    const anchored = line.includes("/");
    if (line.startsWith("/")) line = line.slice(1);
    const body = globToRegex(line);
    const re = new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`);
    rules.push({ base, negate, dirOnly, re, source: line });
  }
  return rules;
}

/** Whether `relPath` (relative to the walk root, "/"-separated) is ignored by `rules`. */
export function isIgnored(rules: readonly IgnoreRule[], relPath: string, isDir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    let p: string;
    if (r.base === "") p = relPath;
    else if (relPath.startsWith(r.base + "/")) p = relPath.slice(r.base.length + 1);
    else continue;
    if (r.re.test(p)) ignored = !r.negate;
  }
  return ignored;
}
