/**
 * The Ruby batch runner (runs INSIDE the sandbox); same protocol as the Python runner (python.ts). Each side
 * is evaluated into a fresh anonymous Module (`module_eval`), so top-level `def`s become its methods and
 * constants stay inside it; the entry point is called on a fresh object extended with that module (or on the
 * module itself for `def self.f`). Per-call limit: one watchdog thread raises `BcTimeout` (an `Exception`, not
 * a `StandardError`) in the main thread when the call's deadline passes, again every 50 ms if the program
 * rescues it; at the fourth time the runner reports the side and exits (the host reruns the sides not reached).
 */
export const RUBY_RUNNER = String.raw`
require "json"
require "digest/sha1"
require "set"
require "stringio"
$bc_nonce = STDIN.gets.to_s.strip
$bc_out = STDOUT.dup
$bc_out.sync = true
STDIN.reopen(File::NULL)
$stdout = StringIO.new rescue nil
$bc_batch = JSON.parse(File.read("/src/batch.json"))
$bc_call_s = $bc_batch["callMs"] / 1000.0
$bc_side_s = $bc_batch["sideMs"] / 1000.0
$bc_pid = Process.pid

def bc_emit(obj)
  exit!(0) if Process.pid != $bc_pid
  $bc_out.write($bc_nonce + " " + JSON.generate(obj) + "\n")
end

class BcTooBig < StandardError; end
class BcTimeout < Exception; end

$bc_deadline = nil
$bc_firings = 0
$bc_cur = nil
$bc_main = Thread.current
$bc_watch = Thread.new do
  loop do
    d = $bc_deadline
    if d && Process.clock_gettime(Process::CLOCK_MONOTONIC) > d
      $bc_firings += 1
      if $bc_firings >= 4 && $bc_cur
        gkey, side, out, n = $bc_cur
        rest = [n - out.length - 1, 0].max
        bc_emit({ "g" => gkey, "side" => side, "load" => nil, "arity" => nil, "out" => out + [["timeout", "", ""]] + [["side-timeout", "", ""]] * rest })
        exit!(0)
      end
      $bc_deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 0.05
      $bc_main.raise(BcTimeout.new)
    end
    sleep 0.005
  end
end

def bc_arm(seconds)
  $bc_firings = 0
  $bc_deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
end

def bc_disarm
  $bc_deadline = nil
  $bc_firings = 0
end

class BcCanon
  def initialize
    @budget = 200_000
  end

  def c(v, depth = 0, seen = {})
    @budget -= 1
    raise BcTooBig if @budget < 0
    return "..." if depth > 40
    case v
    when nil then "N"
    when true then "T"
    when false then "F"
    when Integer then "i#{v}"
    when Float
      return "fnan" if v.nan?
      return "f#{v}" if v.infinite?
      return "f#{v.to_i}" if v == v.to_i && v.abs < 1e15
      "f" + format("%.9g", v)
    when String then "s" + v.dup.force_encoding("UTF-8").scrub.inspect
    when Symbol then "y" + v.to_s
    else
      return "@" if seen[v.object_id]
      seen = seen.merge(v.object_id => true)
      case v
      when Array then "[" + v.map { |x| c(x, depth + 1, seen) }.join(",") + "]"
      when Hash then "<" + v.map { |k, x| c(k, depth + 1, seen) + ":" + c(x, depth + 1, seen) }.sort.join(",") + ">"
      when Set then "{" + v.map { |x| c(x, depth + 1, seen) }.sort.join(",") + "}"
      when Range then "r" + c(v.first(10000), depth + 1, seen)
      when Enumerator then "it" + c(v.first(10000), depth + 1, seen)
      when Rational then "q#{v}"
      when Proc, Method then "fn"
      else
        v.class.name.to_s + "{" + v.instance_variables.sort.map { |iv| iv.to_s + "=" + c(v.instance_variable_get(iv), depth + 1, seen) }.join(",") + "}"
      end
    end
  end
end

def bc_preview(v)
  s = begin
    v.inspect
  rescue Exception
    "<unrepresentable>"
  end
  s.to_s.dup.force_encoding("UTF-8").scrub[0, 80]
end

def bc_load(src, entry)
  m = Module.new
  begin
    begin
      bc_arm([$bc_call_s * 5, 1.0].max)
      m.module_eval(src, "prog.rb")
    ensure
      bc_disarm
    end
  rescue BcTimeout
    return [nil, "loading timed out"]
  rescue Exception => e
    return [nil, "#{e.class}: #{e.message.to_s.scrub[0, 200]}"]
  end
  if m.method_defined?(entry) || m.private_method_defined?(entry)
    o = Object.new
    o.extend(m)
    return [o.method(entry), nil]
  end
  return [m.method(entry), nil] if m.singleton_methods.include?(entry.to_sym)
  [nil, "does not define #{entry}"]
end

def bc_arity(meth)
  lo = 0
  hi = 0
  rest = false
  meth.parameters.each do |kind, _|
    case kind
    when :req then lo += 1; hi += 1
    when :opt then hi += 1
    when :rest then rest = true
    end
  end
  [lo, rest ? -1 : hi]
end

$bc_cwd_no = 0

# Every side and every call starts in an empty working directory: files written by one call cannot change
# another's outcome (the rebuild runs on a subset of the original's inputs).
def bc_fresh_cwd
  $bc_cwd_no += 1
  d = "/tmp/bc-#{$bc_cwd_no}"
  Dir.mkdir(d) unless Dir.exist?(d)
  Dir.chdir(d)
rescue SystemCallError
  nil
end

def bc_run_side(src, entry, inputs, gkey, side)
  bc_emit({ "g" => gkey, "side" => side, "begin" => 1 })
  bc_fresh_cwd
  fn, err = bc_load(src, entry)
  unless err.nil?
    bc_emit({ "g" => gkey, "side" => side, "load" => err, "arity" => nil, "out" => [] })
    return
  end
  out = []
  t_end = Process.clock_gettime(Process::CLOCK_MONOTONIC) + $bc_side_s
  timeouts = 0
  dirty = false
  inputs.each do |raw|
    if Process.clock_gettime(Process::CLOCK_MONOTONIC) > t_end || timeouts >= 1
      out << ["side-timeout", "", ""]
      next
    end
    args = Marshal.load(Marshal.dump(raw))
    bc_fresh_cwd if dirty
    buf = StringIO.new
    $stdout = buf
    kind = "ok"
    h = ""
    pv = ""
    $bc_cur = [gkey, side, out, inputs.length]
    begin
      begin
        before = BcCanon.new.c(args)
        bc_arm($bc_call_s)
        r = fn.call(*args)
        cn = BcCanon.new
        after = cn.c(args)
        h = Digest::SHA1.hexdigest(cn.c(r) + "|" + (after == before ? "=" : after) + "|" + buf.string[0, 10000])[0, 16]
        pv = bc_preview(r)
        pv = (pv + " args after: " + bc_preview(args))[0, 160] if after != before
      ensure
        bc_disarm
      end
    rescue BcTimeout
      kind = "timeout"
    rescue BcTooBig
      kind = "exc:TooBig"
    rescue SystemStackError
      kind = "exc:SystemStackError"
    rescue Exception => e
      kind = "exc:#{e.class.name}"
      pv = "#{e.class.name}: #{e.message.to_s.scrub}"[0, 80] rescue e.class.name.to_s
    end
    $bc_cur = nil
    $stdout = StringIO.new
    exit!(0) if Process.pid != $bc_pid
    dirty = begin
      !Dir.empty?(".")
    rescue SystemCallError
      true
    end
    timeouts += 1 if kind == "timeout"
    out << [kind, h, pv]
  end
  bc_emit({ "g" => gkey, "side" => side, "load" => nil, "arity" => bc_arity(fn), "out" => out })
end

$bc_batch["groups"].each do |g|
  unless g["original"].nil?
    bc_run_side(g["original"], g["entry"], g["inputs"], g["key"], "o1")
    bc_run_side(g["original"], g["entry"], g["inputs"], g["key"], "o2")
  end
  g["rebuilds"].each { |r| bc_run_side(r["src"], r["entry"] || g["entry"], g["inputs"], g["key"], "r:" + r["id"]) }
end
bc_t = Process.times
bc_emit({ "done" => 1, "cpu" => bc_t.utime + bc_t.stime })
exit!(0)
`;
