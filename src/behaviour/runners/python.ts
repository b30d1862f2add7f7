/**
 * The Python batch runner (runs INSIDE the sandbox). Reads the nonce from stdin and the batch from
 * /src/batch.json; for every group it loads each side (original twice, then each rebuild) into a fresh module
 * namespace, calls the entry point on every input under a per-call timer, and writes one line per side:
 * `<nonce> {"g", "side", "load", "arity", "out": [[kind, hash, preview], ...]}` on a private copy of fd 1.
 * A `begin` line precedes each side so that the host can tell which side killed the process.
 * Outcome kinds: "ok" (returned; hash covers the return value, the arguments after the call and printed
 * output), "exc:<TypeName>", "timeout" (per-call limit), "side-timeout" (the side's budget was spent).
 */
export const PYTHON_RUNNER = String.raw`
import sys, os, io, json, math, signal, hashlib, types, itertools, resource, time
_nonce = sys.stdin.readline().strip()
# Results go to a private high descriptor; 0/1/2 become /dev/null so the programs cannot corrupt the protocol.
_fd = 249
os.dup2(1, _fd)
_null = os.open(os.devnull, os.O_RDWR)
for _i in (0, 1):
    os.dup2(_null, _i)
_main_pid = os.getpid()
with open("/src/batch.json", encoding="utf-8") as _f:
    _batch = json.load(_f)
_call_s = _batch["callMs"] / 1000.0
_side_s = _batch["sideMs"] / 1000.0
try:
    _mem = int(_batch.get("memBytes", 0))
    if _mem > 0:
        resource.setrlimit(resource.RLIMIT_AS, (_mem, _mem))
except Exception:
    pass
sys.setrecursionlimit(3000)
_real_stdout, _real_stderr = sys.stdout, sys.stderr
_devnull = open(os.devnull, "w")

class _BcTimeout(BaseException):
    pass

class _BcTooBig(Exception):
    pass

# The call in progress: a program that swallows the timeout exception gets it again every 50 ms; at the
# fourth firing the runner reports the side (this call timed out, the rest skipped) and exits, and the host
# re-runs the sides that were not reached in a new process.
_cur = {"side": None, "firings": 0}

def _on_alarm(signum, frame):
    _cur["firings"] += 1
    if _cur["side"] is not None and _cur["firings"] >= 4:
        gkey, side, out, n = _cur["side"]
        rest = n - len(out) - 1
        _emit({"g": gkey, "side": side, "load": None, "arity": None, "out": out + [["timeout", "", ""]] + [["side-timeout", "", ""]] * rest})
        os._exit(0)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    signal.setitimer(signal.ITIMER_PROF, 0)
    raise _BcTimeout()

signal.signal(signal.SIGALRM, _on_alarm)
signal.signal(signal.SIGPROF, _on_alarm)

def _arm(wall_s):
    _cur["firings"] = 0
    signal.setitimer(signal.ITIMER_PROF, max(wall_s / 10, 0.02))
    signal.setitimer(signal.ITIMER_REAL, wall_s)

def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.setitimer(signal.ITIMER_PROF, 0)
    _cur["firings"] = 0

def _emit(obj):
    if os.getpid() != _main_pid:
        os._exit(0)
    data = (_nonce + " " + json.dumps(obj, ensure_ascii=True) + "\n").encode()
    while data:
        n = os.write(_fd, data)
        data = data[n:]

def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        t = v.get("__bc__")
        if t == "tuple":
            return tuple(_decode(x) for x in v["v"])
        if t == "set":
            return set(_decode(x) for x in v["v"])
        if t == "dict":
            return {_decode(k): _decode(x) for k, x in v["v"]}
        return {k: _decode(x) for k, x in v.items()}
    return v

_ITER_TYPES = (types.GeneratorType, map, filter, zip, enumerate, reversed, itertools.chain)

class _Canon:
    def __init__(self):
        self.budget = 200000
    def c(self, v, depth=0, seen=None):
        self.budget -= 1
        if self.budget < 0:
            raise _BcTooBig()
        if depth > 40:
            return "…"
        if v is None:
            return "N"
        t = type(v)
        if t is bool:
            return "T" if v else "F"
        if t is int:
            try:
                return "i" + str(v)
            except ValueError:
                return "i#" + hex(v)
        if t is float:
            if v != v:
                return "fnan"
            if v in (math.inf, -math.inf):
                return "f" + str(v)
            if v == int(v) and abs(v) < 1e15:
                return "f" + str(int(v))
            return "f" + format(v, ".9g")
        if t is complex:
            return "c" + self.c(v.real) + self.c(v.imag)
        if t is str:
            return "s" + json.dumps(v)
        if t in (bytes, bytearray):
            return "b" + bytes(v).hex()
        if seen is None:
            seen = set()
        if id(v) in seen:
            return "@"
        seen = seen | {id(v)}
        if t is list:
            return "[" + ",".join(self.c(x, depth + 1, seen) for x in v) + "]"
        if t is tuple:
            return "(" + ",".join(self.c(x, depth + 1, seen) for x in v) + ")"
        if t in (set, frozenset):
            return "{" + ",".join(sorted(self.c(x, depth + 1, seen) for x in v)) + "}"
        if isinstance(v, dict):
            return "<" + ",".join(sorted(self.c(k, depth + 1, seen) + ":" + self.c(x, depth + 1, seen) for k, x in v.items())) + ">"
        if isinstance(v, _ITER_TYPES) or t is range:
            return "it[" + ",".join(self.c(x, depth + 1, seen) for x in itertools.islice(v, 10000)) + "]"
        if isinstance(v, (list, tuple)):
            return t.__name__ + "[" + ",".join(self.c(x, depth + 1, seen) for x in v) + "]"
        if callable(v):
            return "fn"
        d = getattr(v, "__dict__", None)
        if isinstance(d, dict):
            return t.__name__ + self.c(d, depth + 1, seen)
        return t.__name__

def _preview(v):
    try:
        s = repr(v)
    except BaseException:
        s = "<unrepresentable>"
    return s[:80]

def _hash(s):
    return hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()[:16]

def _arity(fn):
    import inspect
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    lo = hi = 0
    var = False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            hi += 1
            if p.default is p.empty:
                lo += 1
        elif p.kind == p.VAR_POSITIONAL:
            var = True
    return [lo, -1 if var else hi]

_NO_AUTO = {"antigravity", "this", "turtle", "turtledemo", "tkinter", "idlelib", "webbrowser", "pydoc", "ensurepip", "venv"}

class _AutoImport(dict):
    """Globals that import a standard-library module on first use of its name (code cut out of its file
    lost its imports); any other missing name is still a NameError."""
    def __missing__(self, k):
        if isinstance(k, str) and k in sys.stdlib_module_names and not k.startswith("_") and k not in _NO_AUTO:
            import importlib
            m = importlib.import_module(k)
            self[k] = m
            return m
        raise KeyError(k)

class _Ns:
    def __init__(self, d):
        self.__dict__ = d

def _load(src, entry):
    g = _AutoImport() if _batch.get("autoImport") else {}
    g.update({"__name__": "__bc_prog__", "__builtins__": __builtins__})
    mod = _Ns(g)
    sys.stdout = _devnull
    _arm(max(_call_s * 5, 1.0))
    try:
        exec(compile(src, "<prog>", "exec"), mod.__dict__)
    except _BcTimeout:
        return None, "loading timed out"
    except BaseException as e:
        return None, type(e).__name__ + ": " + str(e)[:200]
    finally:
        _disarm()
        sys.stdout = _real_stdout
    fn = mod.__dict__.get(entry)
    if fn is None or not callable(fn):
        return None, "does not define " + entry
    return fn, None

_side_no = [0]

def _fresh_cwd():
    # Every side, and every call after one that left files behind, starts in an empty working directory: files
    # written by one call cannot change another's outcome (the rebuild runs on a subset of the original's inputs).
    _side_no[0] += 1
    d = "/tmp/bc-%d" % _side_no[0]
    try:
        os.makedirs(d, exist_ok=True)
        os.chdir(d)
    except OSError:
        pass

def _befores(inputs):
    out = []
    for raw in inputs:
        try:
            out.append(_Canon().c(_decode(raw)))
        except BaseException:
            out.append(None)
    return out

def _run_side(src, entry, inputs, gkey, side, befores):
    _emit({"g": gkey, "side": side, "begin": 1})
    _fresh_cwd()
    fn, err = _load(src, entry)
    if err is not None:
        _emit({"g": gkey, "side": side, "load": err, "arity": None, "out": []})
        return
    out = []
    t_end = time.monotonic() + _side_s
    timeouts = 0
    dirty = False
    for idx, raw in enumerate(inputs):
        if time.monotonic() > t_end or timeouts >= 1:
            out.append(["side-timeout", "", ""])
            continue
        args = _decode(raw)
        if dirty:
            _fresh_cwd()
        buf = io.StringIO()
        sys.stdout = buf
        kind = "ok"
        h = ""
        pv = ""
        _cur["side"] = (gkey, side, out, len(inputs))
        _arm(_call_s)
        try:
            try:
                before = befores[idx]
                r = fn(*args)
                cn = _Canon()
                after = cn.c(args)
                s = cn.c(r) + "|" + (after if after != before else "=") + "|" + buf.getvalue()[:10000]
                h = _hash(s)
                pv = _preview(r)
                if after != before:
                    pv = (pv + " args after: " + _preview(args))[:160]
            except _BcTimeout:
                kind = "timeout"
            except _BcTooBig:
                kind = "exc:TooBig"
            except RecursionError:
                kind = "exc:RecursionError"
            except BaseException as e:
                kind = "exc:" + type(e).__name__
                try:
                    pv = (type(e).__name__ + ": " + str(e))[:80]
                except BaseException:
                    pv = type(e).__name__
            finally:
                _disarm()
        except _BcTimeout:
            kind = "timeout"
        sys.stdout = _real_stdout
        if os.getpid() != _main_pid:
            os._exit(0)
        _cur["side"] = None
        try:
            dirty = bool(os.listdir("."))
        except OSError:
            dirty = True
        if kind == "timeout":
            timeouts += 1
        out.append([kind, h, pv])
    _emit({"g": gkey, "side": side, "load": None, "arity": _arity(fn), "out": out})

for _g in _batch["groups"]:
    _key, _entry, _inputs = _g["key"], _g["entry"], _g["inputs"]
    _bf = _befores(_inputs)
    if _g.get("original") is not None:
        _run_side(_g["original"], _entry, _inputs, _key, "o1", _bf)
        _run_side(_g["original"], _entry, _inputs, _key, "o2", _bf)
    for _r in _g["rebuilds"]:
        _run_side(_r["src"], _r.get("entry") or _entry, _inputs, _key, "r:" + _r["id"], _bf)
_ru = resource.getrusage(resource.RUSAGE_SELF)
_emit({"done": 1, "cpu": _ru.ru_utime + _ru.ru_stime})
os._exit(0)
`;
