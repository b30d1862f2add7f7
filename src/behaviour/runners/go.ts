/**
 * The Go batch program (built and run INSIDE the sandbox): one Go module per batch, one package per side
 * (`s0`, `s1`, …: a fresh namespace each), a registry package with the call harness, and a main package. Each
 * side's file is the side's source (package clause replaced, standard-library packages it uses by name
 * imported) plus a generated wrapper that decodes the JSON arguments into the ORIGINAL's parameter types,
 * calls the entry point and returns its results and the arguments after the call. A rebuild whose signature
 * differs therefore fails to compile, which counts as not loading (score 0).
 *
 * A batch whose program does not build although no side was singled out is split in two and retried, down
 * to the side to blame (compare.ts).
 *
 * The shell step builds every package (`go build ./...`), removes the sides that failed to compile from the
 * main package's imports, builds and runs the program; the program reports those sides as load errors with
 * the compiler's first message for them. Same line protocol as the other runners (python.ts). Go has no
 * exceptions: a panic's kind is `exc:<%T of the panic value>` (runtime.boundsError, string, …); returned
 * errors compare by message. Per call a goroutine with a wall-clock limit; a call that times out cannot be
 * stopped, so the program reports that side and re-executes itself (`exec`, same binary) from the next side.
 * Printed output is not compared in Go.
 */
import type { BatchSpec } from "./index.js";

/** Standard-library packages imported automatically when a side uses them by name (name → import path). */
const GO_STD: Record<string, string> = {
  strings: "strings",
  strconv: "strconv",
  sort: "sort",
  math: "math",
  unicode: "unicode",
  bytes: "bytes",
  fmt: "fmt",
  errors: "errors",
  utf8: "unicode/utf8",
  utf16: "unicode/utf16",
  bits: "math/bits",
  big: "math/big",
  cmplx: "math/cmplx",
  regexp: "regexp",
  hex: "encoding/hex",
  base64: "encoding/base64",
  binary: "encoding/binary",
  json: "encoding/json",
  path: "path",
  filepath: "path/filepath",
  time: "time",
  reflect: "reflect",
  heap: "container/heap",
  list: "container/list",
  ring: "container/ring",
  sha256: "crypto/sha256",
  sha1: "crypto/sha1",
  md5: "crypto/md5",
  crc32: "hash/crc32",
  fnv: "hash/fnv",
  html: "html",
  url: "net/url",
  os: "os",
  io: "io",
  bufio: "bufio",
  rand: "math/rand",
  sync: "sync",
  atomic: "sync/atomic",
  csv: "encoding/csv",
  template: "text/template",
  tabwriter: "text/tabwriter",
};

/** Import lines for the standard packages `src` uses as `name.Exported` without importing or declaring them. */
export function goAutoImports(src: string): string[] {
  const imported = new Set<string>();
  for (const m of src.matchAll(/(?:^|\n)\s*import\s*(?:\(([^)]*)\)|([^\n]+))/g)) {
    for (const line of (m[1] ?? m[2] ?? "").split("\n")) {
      const q = /(?:(\w+)\s+)?"([^"]+)"/.exec(line);
      if (q) imported.add(q[1] ?? q[2]!.split("/").pop()!);
    }
  }
  const out: string[] = [];
  for (const [name, pathName] of Object.entries(GO_STD)) {
    if (imported.has(name)) continue;
    if (!new RegExp(`(^|[^\\w.])${name}\\.[A-Z]`).test(src)) continue;
    // a local of that name (path := ..., var list, func f(path string)) shadows the package: no import
    if (new RegExp(`\\b${name}\\s*(,\\s*\\w+\\s*)*:=|\\bvar\\s+${name}\\b|[(,]\\s*${name}\\s+[\\w*\\[\\]]`).test(src))
      continue;
    out.push(`import "${pathName}"`);
  }
  return out;
}

/** The side's source with its package clause replaced by `package <pkg>`. */
function sideSource(src: string): string {
  // build constraints would exclude the file from its package; cgo is off
  return src
    .replace(/^\s*(\/\/[^\n]*\n|\s)*package\s+\w+[^\n]*\n/, "")
    .replace(/^\s*\/\/(go:build|\s*\+build)\b[^\n]*$/gm, "");
}

function wrapper(entry: string, key: string, side: string, paramTypes: string[], results: number): string {
  const decl = paramTypes
    .map(
      (t, i) =>
        `\t\tvar a${i} ${t}\n\t\tif err := __bcjson.Unmarshal(raw[${i}], &a${i}); err != nil {\n\t\t\treturn "", nil, nil, err\n\t\t}\n`,
    )
    .join("");
  const args = paramTypes.map((_, i) => `a${i}`).join(", ");
  const rs = Array.from({ length: results }, (_, i) => `r${i}`);
  const call = results > 0 ? `${rs.join(", ")} := ${entry}(${args})` : `${entry}(${args})`;
  return (
    `\nfunc init() {\n\t__bcreg.Register(${JSON.stringify(key)}, ${JSON.stringify(side)}, func(raw []__bcjson.RawMessage) (string, []any, []any, error) {\n` +
    `\t\tif len(raw) != ${paramTypes.length} {\n\t\t\treturn "", nil, nil, __bcreg.ErrArity\n\t\t}\n${decl}` +
    `\t\tbefore := __bcreg.CanonAll([]any{${args}})\n\t\t${call}\n` +
    `\t\treturn before, []any{${rs.join(", ")}}, []any{${args}}, nil\n\t})\n}\n`
  );
}

const REG = String.raw`package reg

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"encoding/json"
)

type Fn func(raw []json.RawMessage) (string, []any, []any, error)

var Table = map[string]Fn{}
var ErrArity = errors.New("wrong number of arguments")

func Register(key, side string, f Fn) { Table[key+"\x00"+side] = f }

var errType = reflect.TypeOf((*error)(nil)).Elem()

type tooBig struct{}

func canon(v reflect.Value, depth int, budget *int) string {
	*budget--
	if *budget < 0 {
		panic(tooBig{})
	}
	if depth > 40 {
		return "..."
	}
	if !v.IsValid() {
		return "N"
	}
	if v.Kind() != reflect.Interface && v.Type().Implements(errType) && v.CanInterface() {
		if (v.Kind() == reflect.Ptr || v.Kind() == reflect.Map || v.Kind() == reflect.Slice) && v.IsNil() {
			return "N"
		}
		return "E" + strconv.Quote(v.Interface().(error).Error())
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return "T"
		}
		return "F"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "i" + strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "i" + strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) {
			return "fnan"
		}
		if !math.IsInf(f, 0) && f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return "f" + strconv.FormatInt(int64(f), 10)
		}
		return "f" + strconv.FormatFloat(f, 'g', 9, 64)
	case reflect.String:
		return "s" + strconv.Quote(v.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = canon(v.Index(i), depth+1, budget)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case reflect.Map:
		parts := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			parts = append(parts, canon(it.Key(), depth+1, budget)+":"+canon(it.Value(), depth+1, budget))
		}
		sort.Strings(parts)
		return "<" + strings.Join(parts, ",") + ">"
	case reflect.Ptr, reflect.Interface:
		if v.IsNil() {
			return "N"
		}
		return canon(v.Elem(), depth+1, budget)
	case reflect.Struct:
		parts := make([]string, v.NumField())
		for i := range parts {
			parts[i] = v.Type().Field(i).Name + "=" + canon(v.Field(i), depth+1, budget)
		}
		return v.Type().Name() + "{" + strings.Join(parts, ",") + "}"
	case reflect.Func:
		return "fn"
	case reflect.Chan:
		return "chan"
	}
	return v.Kind().String()
}

func CanonAll(xs []any) string {
	b := 200000
	return canon(reflect.ValueOf(xs), 0, &b)
}

func preview(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.ToValidUTF8(s, "?")
}

// Call runs f on raw under a wall-clock limit: [kind, hash, preview]. timedOut: the goroutine is still running.
func Call(f Fn, raw []json.RawMessage, callMs int) (out [3]string, timedOut bool) {
	done := make(chan [3]string, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(tooBig); ok {
					done <- [3]string{"exc:TooBig", "", ""}
					return
				}
				done <- [3]string{"exc:" + fmt.Sprintf("%T", r), "", preview(fmt.Sprint(r))}
			}
		}()
		before, res, args, err := f(raw)
		if err != nil {
			done <- [3]string{"exc:decode", "", preview(err.Error())}
			return
		}
		b := 200000
		ret := canon(reflect.ValueOf(res), 0, &b)
		after := canon(reflect.ValueOf(args), 0, &b)
		m := "="
		pv := preview(fmt.Sprint(res...))
		if after != before {
			m = after
			pv = preview(pv + " args after: " + fmt.Sprint(args...))
		}
		h := sha1.Sum([]byte(ret + "|" + m))
		done <- [3]string{"ok", hex.EncodeToString(h[:8]), pv}
	}()
	select {
	case o := <-done:
		return o, false
	case <-time.After(time.Duration(callMs) * time.Millisecond):
		return [3]string{"timeout", "", ""}, true
	}
}
`;

const MAIN = String.raw`package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bcprog/reg"
	//SIDE-IMPORTS
)

// encoding/json matches keys to field names case-insensitively (key → Key, callMs → CallMs).
type group struct {
	Key    string
	Inputs [][]json.RawMessage
}
type batch struct {
	CallMs int
	SideMs int
	Groups []group
}
type sideRef struct {
	Pkg  string
	G    string
	Side string
}

var nonce string

func emit(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write([]byte(nonce + " " + string(b) + "\n"))
}

func compileError(log, pkg string) string {
	re := regexp.MustCompile("(^|/)" + pkg + "/side\\.go:")
	for _, line := range strings.Split(log, "\n") {
		if re.MatchString(line) {
			l := line[strings.Index(line, "side.go:"):]
			if len(l) > 200 {
				l = l[:200]
			}
			return "compile error: " + l
		}
	}
	return "compile error"
}

func main() {
	nonce = strings.TrimSpace(os.Args[1])
	var b batch
	raw, _ := os.ReadFile("/src/batch.json")
	if err := json.Unmarshal(raw, &b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var sides []sideRef
	sr, _ := os.ReadFile("/src/prog/sides.json")
	json.Unmarshal(sr, &sides)
	logb, _ := os.ReadFile("/tmp/build.log")
	inputs := map[string][][]json.RawMessage{}
	for _, g := range b.Groups {
		inputs[g.Key] = g.Inputs
	}
	start := 0
	if len(os.Args) > 2 {
		start, _ = strconv.Atoi(os.Args[2])
	}
	for si := start; si < len(sides); si++ {
		s := sides[si]
		emit(map[string]any{"g": s.G, "side": s.Side, "begin": 1})
		f, ok := reg.Table[s.G+"\x00"+s.Side]
		if !ok {
			emit(map[string]any{"g": s.G, "side": s.Side, "load": compileError(string(logb), s.Pkg), "arity": nil, "out": [][3]string{}})
			continue
		}
		ins := inputs[s.G]
		out := make([][3]string, 0, len(ins))
		end := time.Now().Add(time.Duration(b.SideMs) * time.Millisecond)
		stuck := false
		for _, in := range ins {
			if stuck || time.Now().After(end) {
				out = append(out, [3]string{"side-timeout", "", ""})
				continue
			}
			o, t := reg.Call(f, in, b.CallMs)
			out = append(out, o)
			stuck = t
		}
		emit(map[string]any{"g": s.G, "side": s.Side, "load": nil, "arity": nil, "out": out})
		if stuck {
			// A goroutine that timed out keeps running and cannot be stopped: replace the process by a fresh copy
			// of the program that continues with the next side (no rebuild needed). If that fails, exit: the
			// host reruns the sides not reached.
			if si+1 < len(sides) {
				syscall.Exec("/tmp/bc", []string{"/tmp/bc", nonce, strconv.Itoa(si + 1)}, os.Environ())
			}
			os.Exit(0)
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	emit(map[string]any{"done": 1, "cpu": cpu})
	os.Exit(0)
}
`;

/** Build-and-run script: build all, drop the packages that failed from main's imports, build main, run. */
export const GO_SCRIPT =
  "read -r nonce; cp -r /src/prog /tmp/prog && cd /tmp/prog && " +
  "go build ./... >/tmp/build.log 2>&1; " +
  "for p in $(grep -o '^# bcprog/s[0-9]*' /tmp/build.log | sed 's|# bcprog/||'); do sed -i \"/\\\"bcprog\\/$p\\\"/d\" main.go; done; " +
  'go build -o /tmp/bc . 2>>/tmp/build.log || { cat /tmp/build.log >&2; exit 99; }; exec /tmp/bc "$nonce"';

export interface GoProgram {
  files: Record<string, string>;
}

/** The files of the batch program (under prog/) for a batch of Go groups. */
export function goBatchProgram(spec: BatchSpec): GoProgram {
  const files: Record<string, string> = { "prog/go.mod": "module bcprog\n\ngo 1.19\n", "prog/reg/reg.go": REG };
  const sides: { pkg: string; g: string; side: string }[] = [];
  const imports: string[] = [];
  let n = 0;
  for (const g of spec.groups) {
    if (!g.goSig) throw new Error("behaviour: a Go group needs its signature");
    const list: [string, string, string][] = [];
    if (g.original !== null) list.push(["o1", g.original, g.entry], ["o2", g.original, g.entry]);
    for (const r of g.rebuilds) list.push([`r:${r.id}`, r.src, r.entry ?? g.entry]);
    for (const [side, src, entry] of list) {
      const pkg = `s${n++}`;
      const text =
        `package ${pkg}\n\nimport __bcjson "encoding/json"\nimport __bcreg "bcprog/reg"\n${goAutoImports(src).join("\n")}\n` +
        `${sideSource(src)}\n${wrapper(entry, g.key, side, g.goSig.params, g.goSig.results)}`;
      files[`prog/${pkg}/side.go`] = text;
      sides.push({ pkg, g: g.key, side });
      imports.push(`\t_ "bcprog/${pkg}"`);
    }
  }
  files["prog/main.go"] = MAIN.replace("\t//SIDE-IMPORTS", imports.join("\n"));
  files["prog/sides.json"] = JSON.stringify(sides);
  return { files };
}
