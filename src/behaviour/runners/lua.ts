/**
 * The Lua 5.4 batch runner (runs INSIDE the sandbox); same protocol as the Python runner (python.ts). Each
 * side is loaded into a fresh environment (copies of the standard tables; `print` captured); `local
 * function f` is reached by appending `return f` to the chunk. Per call, a count hook stops the call after
 * a tenth of callMs in CPU time (`os.clock`) or 256 MiB of Lua heap; a program that keeps catching the stop is ended
 * by the runner after it reports the side. Lua errors have no types: every error is kind "exc:error".
 */
export const LUA_RUNNER = String.raw`
local nonce = (io.read("l") or ""):gsub("%s+$", "")
local fh = assert(io.open("/src/batch.json", "r"))
local text = fh:read("a")
fh:close()

local function decode(s)
  local pos = 1
  local esc = { n = "\n", t = "\t", r = "\r", b = "\b", f = "\f" }
  local function ws() pos = s:find("[^ \t\r\n]", pos) or (#s + 1) end
  local function str()
    pos = pos + 1
    local buf = {}
    while true do
      local c = s:sub(pos, pos)
      if c == '"' then pos = pos + 1; break
      elseif c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          buf[#buf + 1] = utf8.char(tonumber(s:sub(pos + 2, pos + 5), 16)); pos = pos + 6
        else
          buf[#buf + 1] = esc[e] or e; pos = pos + 2
        end
      elseif c == "" then break
      else
        local j = s:find('["\\]', pos) or (#s + 1)
        buf[#buf + 1] = s:sub(pos, j - 1); pos = j
      end
    end
    return table.concat(buf)
  end
  local val
  function val()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      pos = pos + 1; local t = {}; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws(); local k = str(); ws(); pos = pos + 1
        t[k] = val(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return t end
      end
    elseif c == "[" then
      pos = pos + 1; local t = {}; ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      local i = 0
      while true do
        i = i + 1; t[i] = val(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return t end
      end
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      pos = pos + #num
      if num:find("[.eE]") then return tonumber(num) end
      return math.tointeger(tonumber(num)) or tonumber(num)
    end
  end
  return val()
end

local function jstr(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end
local function jarr(xs)
  local parts = {}
  for i, x in ipairs(xs) do parts[i] = x end
  return "[" .. table.concat(parts, ",") .. "]"
end
local function utf8clean(s)
  if utf8.len(s) then return s end
  return (s:gsub("[\128-\255]", "?"))
end

local function emit(raw) io.stdout:write(nonce .. " " .. raw .. "\n"); io.stdout:flush() end

local function fnv(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  return string.format("%016x", h)
end

local function canon(v)
  local budget = 200000
  local function c(x, depth, seen)
    budget = budget - 1
    if budget < 0 then error("__bc_toobig", 0) end
    if depth > 40 then return "..." end
    local t = type(x)
    if x == nil then return "N"
    elseif t == "boolean" then return x and "T" or "F"
    elseif t == "number" then
      if math.type(x) == "integer" then return "i" .. tostring(x) end
      if x ~= x then return "fnan" end
      if x == math.huge or x == -math.huge then return "f" .. tostring(x) end
      if x == math.floor(x) and math.abs(x) < 1e15 then return "i" .. string.format("%d", math.floor(x)) end
      return "f" .. string.format("%.9g", x)
    elseif t == "string" then return "s" .. string.format("%q", x)
    elseif t == "table" then
      if seen[x] then return "@" end
      seen[x] = true
      local n = #x
      local count = 0
      for _ in pairs(x) do count = count + 1 end
      local out
      if count == n and n > 0 then
        local parts = {}
        for i = 1, n do parts[i] = c(x[i], depth + 1, seen) end
        out = "[" .. table.concat(parts, ",") .. "]"
      else
        local parts = {}
        for k, val in pairs(x) do parts[#parts + 1] = c(k, depth + 1, seen) .. ":" .. c(val, depth + 1, seen) end
        table.sort(parts)
        out = "<" .. table.concat(parts, ",") .. ">"
      end
      seen[x] = nil
      return out
    elseif t == "function" then return "fn"
    else return t end
  end
  return c(v, 0, {})
end

local function preview(v)
  local ok, s = pcall(function()
    if type(v) == "table" then return canon(v)
    elseif type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
  end)
  return utf8clean((ok and s or "<unrepresentable>"):sub(1, 80))
end

local function deepcopy(x)
  if type(x) ~= "table" then return x end
  local t = {}
  for k, v in pairs(x) do t[k] = deepcopy(v) end
  return t
end

local function fresh_env(buf)
  local env = {}
  for k, v in pairs(_G) do
    if type(v) == "table" and k ~= "_G" and k ~= "package" then
      local t = {}
      for a, b in pairs(v) do t[a] = b end
      env[k] = t
    else
      env[k] = v
    end
  end
  env._G = env
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    buf[#buf + 1] = table.concat(parts, "\t")
  end
  return env
end

local batch = decode(text)
local call_s = batch.callMs / 1000
local side_s = batch.sideMs / 1000
local cur = nil

local function side_json(gkey, side, load, arity, out)
  local rows = {}
  for i, o in ipairs(out) do rows[i] = jarr({ jstr(o[1]), jstr(o[2]), jstr(o[3]) }) end
  return "{" .. '"g":' .. jstr(gkey) .. ',"side":' .. jstr(side) .. ',"load":' .. (load and jstr(utf8clean(load)) or "null") ..
    ',"arity":' .. (arity and jarr({ tostring(arity[1]), tostring(arity[2]) }) or "null") .. ',"out":' .. jarr(rows) .. "}"
end

local function strip_loc(msg)
  msg = tostring(msg)
  return (msg:gsub("^[^:]*:%d+: ", ""))
end

local function run_side(src, entry, inputs, gkey, side)
  emit('{"g":' .. jstr(gkey) .. ',"side":' .. jstr(side) .. ',"begin":1}')
  local buf = {}
  local env = fresh_env(buf)
  local chunk = load(src .. "\nreturn " .. entry, "prog", "t", env)
  local fn
  if chunk then
    local ok, r = pcall(chunk)
    if not ok then emit(side_json(gkey, side, "error: " .. strip_loc(r):sub(1, 200), nil, {})); return end
    fn = r
  else
    local chunk2, err = load(src, "prog", "t", env)
    if not chunk2 then emit(side_json(gkey, side, "syntax error: " .. strip_loc(err):sub(1, 200), nil, {})); return end
    local ok, r = pcall(chunk2)
    if not ok then emit(side_json(gkey, side, "error: " .. strip_loc(r):sub(1, 200), nil, {})); return end
    fn = env[entry]
  end
  if type(fn) ~= "function" then emit(side_json(gkey, side, "does not define " .. entry, nil, {})); return end
  local info = debug.getinfo(fn, "u")
  local arity = { info.nparams, info.isvararg and -1 or info.nparams }
  local out = {}
  local t_end = os.clock() + side_s
  local timeouts = 0
  for _, raw in ipairs(inputs) do
    if os.clock() > t_end or timeouts >= 1 then
      out[#out + 1] = { "side-timeout", "", "" }
    else
      local args = deepcopy(raw)
      local before = canon(args)
      for i = #buf, 1, -1 do buf[i] = nil end
      local deadline = os.clock() + call_s / 10
      local firings = 0
      cur = { gkey, side, out, #inputs }
      debug.sethook(function()
        if os.clock() > deadline then
          firings = firings + 1
          if firings > 50 then
            local o = {}
            for i, x in ipairs(out) do o[i] = x end
            o[#o + 1] = { "timeout", "", "" }
            for _ = #o + 1, #inputs do o[#o + 1] = { "side-timeout", "", "" } end
            debug.sethook()
            emit(side_json(gkey, side, nil, arity, o))
            os.exit(0, true)
          end
          error("__bc_timeout", 0)
        end
        if collectgarbage("count") > 262144 then error("__bc_memory", 0) end
      end, "", 1000)
      local res = table.pack(pcall(function()
        local r = table.pack(fn(table.unpack(args, 1, #raw)))
        local after = canon(args)
        local rv = r.n <= 1 and r[1] or { table.unpack(r, 1, r.n) }
        return canon(rv) .. "|" .. (after == before and "=" or after) .. "|" .. table.concat(buf, "\n"):sub(1, 10000), preview(rv), after ~= before
      end))
      debug.sethook()
      cur = nil
      if res[1] then
        local pv = res[3]
        if res[4] then pv = (pv .. " args after: " .. preview(args)):sub(1, 160) end
        out[#out + 1] = { "ok", fnv(res[2]), utf8clean(pv) }
      else
        local e = res[2]
        if e == "__bc_timeout" then
          timeouts = timeouts + 1
          out[#out + 1] = { "timeout", "", "" }
        elseif e == "__bc_memory" then out[#out + 1] = { "exc:MemoryError", "", "" }
        elseif e == "__bc_toobig" then out[#out + 1] = { "exc:TooBig", "", "" }
        else out[#out + 1] = { "exc:error", "", utf8clean(strip_loc(e):sub(1, 80)) } end
      end
      collectgarbage()
    end
  end
  emit(side_json(gkey, side, nil, arity, out))
end

for _, g in ipairs(batch.groups) do
  if g.original ~= nil then
    run_side(g.original, g.entry, g.inputs, g.key, "o1")
    run_side(g.original, g.entry, g.inputs, g.key, "o2")
  end
  for _, r in ipairs(g.rebuilds) do run_side(r.src, r.entry or g.entry, g.inputs, g.key, "r:" .. r.id) end
end
emit('{"done":1,"cpu":' .. string.format("%.6f", os.clock()) .. '}')
os.exit(0, true)
`;
