/**
 * Turns a benchmark solution into a "planted" copy as someone might commit it: every user identifier renamed
 * consistently, the layout changed (spacing around operators and commas, blank lines, comments added).
 * String literals, keywords, builtins and attribute names are left alone, as a renaming refactor would.
 */
import { KEEP_NAMES, KEYWORDS } from "../../src/corpus/lexer.js";

const STRING_RE =
  /((?:\b[rRbBuUfF]{1,2})?(?:"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|#[^\n]*)/g;

export function plantPython(src: string, salt: string): string {
  const names = new Map<string, string>();
  const rename = (w: string): string => {
    let n = names.get(w);
    if (!n) {
      n = `${salt}_${names.size}_${w.length}`;
      names.set(w, n);
    }
    return n;
  };
  const parts = src.split(STRING_RE);
  const renamed = parts
    .map((part, i) => {
      if (i % 2 === 1) return part.startsWith("#") ? "" : part; // strings kept, comments dropped
      return part
        .replace(/(\.\s*)?\b([A-Za-z_][A-Za-z0-9_]*)\b/g, (m, dot: string | undefined, w: string) => {
          if (dot) return m;
          if (
            KEYWORDS.has(w) ||
            KEEP_NAMES.has(w) ||
            /^(self|cls|True|False|None|List|Tuple|Dict|Optional|Any|typing|import|from|math|re|heapq|collections|itertools)$/.test(
              w,
            )
          )
            return m;
          return rename(w);
        })
        .replace(/[ \t]*,[ \t]*/g, " , ")
        .replace(/[ \t]*(==|!=|<=|>=|\+=|-=)[ \t]*/g, "  $1  ");
    })
    .join("");
  // layout: spaces around binary operators and after commas, a comment and blank lines between statements
  return (
    "# planted copy\n" +
    renamed
      .split("\n")
      .map((line) => {
        if (/^\s*$/.test(line)) return line;
        return `${line}   # edited\n`;
      })
      .join("\n")
  );
}
