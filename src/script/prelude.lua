-- Runs once in a fresh Lua state (chunk name "@redstone"). It builds what
-- scripts see and locks it: every global and every library table is
-- read-only, as in Redis 7, so no script can leave state for the next one
-- or change the `redis` table under it.
--
-- Argument: `native`, what is written in Rust (sha1hex, log, place,
-- error_table, setresp, killed, version, version_num, register_function, and
-- the `bit`, `cjson`, `cmsgpack` and `struct` libraries).
-- Returns: the hidden globals table (KEYS and ARGV are set there), the
-- hidden `redis` table (`call` and `pcall`, written in Rust, are set there
-- for each run: as C functions they keep the caller's frame even in a tail
-- call, so errors can name the script's line), and `run`,
-- which calls a script the way Redis does and turns any error into a
-- table {err = "CODE message", source = ..., line = ...}, and `loading`,
-- which switches the globals to the library API for FUNCTION LOAD and back.
local native = ...
local raw_setmetatable, raw_rawset, raw_rawget = setmetatable, rawset, rawget
local error, type, tostring, select, pairs = error, type, tostring, select, pairs
local string_sub, string_find, string_gsub = string.sub, string.find, string.gsub
local table_concat = table.concat

local readonly = {}

-- `level` 2 blames the code that wrote (a metamethod's caller), 3 the
-- caller of a wrapper such as setmetatable.
local function deny(_, _, _, level)
  error('Attempt to modify a readonly table', level or 2)
end

-- An empty table whose reads go to `t` and whose writes fail. Its
-- metatable is hidden behind another such table, so that neither can be
-- changed.
local function protect(t, index)
  local proxy = {}
  local hidden = {}
  readonly[hidden] = true
  raw_setmetatable(hidden, { __index = {}, __newindex = deny, __metatable = false })
  raw_setmetatable(proxy, { __index = index or t, __newindex = deny, __metatable = hidden })
  readonly[proxy] = true
  return proxy
end

-- "-CODE message" or "message" to an error table, as Redis'
-- luaPushErrorBuff: a message without a code gets ERR.
local function error_table(text)
  text = string_gsub(text, '[\r\n]+$', '')
  if string_sub(text, 1, 1) == '-' then
    local space = string_find(text, ' ', 1, true)
    if space then
      return { err = string_sub(text, 2, space - 1) .. ' ' .. string_sub(text, space + 1) }
    end
    return { err = 'ERR ' .. string_sub(text, 2) }
  end
  return { err = 'ERR ' .. text }
end

local function raise(text)
  error(error_table(text), 0)
end

-- The `redis` library.
local R = {}
R.LOG_DEBUG, R.LOG_VERBOSE, R.LOG_NOTICE, R.LOG_WARNING = 0, 1, 2, 3
R.REDIS_VERSION = native.version
R.REDIS_VERSION_NUM = native.version_num

function R.error_reply(text)
  if type(text) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  if string_sub(text, 1, 1) ~= '-' then
    text = '-' .. text
  end
  return error_table(text)
end

function R.status_reply(text)
  if type(text) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  return { ok = text }
end

function R.sha1hex(...)
  if select('#', ...) ~= 1 then
    raise('wrong number of arguments')
  end
  return native.sha1hex(tostring((...)))
end

function R.log(...)
  local count = select('#', ...)
  if count < 2 then
    raise('redis.log() requires two arguments or more.')
  end
  local level = ...
  if type(level) ~= 'number' then
    raise('First argument must be a number (log level).')
  end
  if level < 0 or level > 3 then
    raise('Invalid debug level.')
  end
  local words = {}
  for i = 2, count do
    words[#words + 1] = tostring((select(i, ...)))
  end
  native.log(level, table_concat(words, ' '))
end

function R.setresp(...)
  if select('#', ...) ~= 1 then
    raise('redis.setresp() requires one argument.')
  end
  local version = ...
  if version ~= 2 and version ~= 3 then
    raise('RESP version must be 2 or 3.')
  end
  native.setresp(version)
end

-- Effects are always replicated, as in Redis 7: kept for old scripts.
function R.replicate_commands()
  return true
end

-- A table's __index that fails on a missing name, as Redis'
-- luaSetErrorMetatable.
local function strict(lookup)
  return function(_, name)
    local value = lookup(name)
    if value == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return value
  end
end

-- What a library's top level sees at FUNCTION LOAD instead of the globals
-- (Redis' library API): `redis` alone, with register_function, log, the
-- log levels and the version; anything else is a missing global.
local LR = {
  register_function = native.register_function,
  log = R.log,
  LOG_DEBUG = R.LOG_DEBUG,
  LOG_VERBOSE = R.LOG_VERBOSE,
  LOG_NOTICE = R.LOG_NOTICE,
  LOG_WARNING = R.LOG_WARNING,
  REDIS_VERSION = R.REDIS_VERSION,
  REDIS_VERSION_NUM = R.REDIS_VERSION_NUM,
}
local L = { redis = protect(LR, strict(function(name) return LR[name] end)) }

-- The globals scripts see: Lua's base, table, string and math libraries
-- without what reaches files or the global table itself.
local G = {}
for name, value in pairs(_G) do
  G[name] = value
end
for _, name in pairs({ 'loadfile', 'dofile', 'print', 'getfenv', 'setfenv', 'module', 'require', 'package', 'io', 'os' }) do
  G[name] = nil
end
for _, name in pairs({ 'string', 'table', 'math', 'coroutine' }) do
  if G[name] then
    G[name] = protect(G[name])
  end
end

local raw_loadstring = loadstring
local raw_setfenv = setfenv
function G.setmetatable(t, mt)
  if readonly[t] then
    deny(nil, nil, nil, 3)
  end
  return raw_setmetatable(t, mt)
end
function G.rawset(t, k, v)
  if readonly[t] then
    deny(nil, nil, nil, 3)
  end
  return raw_rawset(t, k, v)
end
G.redis = protect(R)
G.bit = protect(native.bit)
G.cjson = protect(native.cjson)
G.cmsgpack = protect(native.cmsgpack)
G.struct = protect(native.struct)

-- The real global table becomes the read-only view: its reads of a
-- missing name fail as in Redis, its writes always fail.
-- `api` is what they read: G, or L while a library loads.
local api = G
local globals = _G
for name in pairs(globals) do
  globals[name] = nil
end
G._G = globals
raw_setmetatable(globals, {
  __index = strict(function(name) return api[name] end),
  __newindex = deny,
  __metatable = protect({}),
})
readonly[globals] = true

-- A chunk made by loadstring or load sees the same read-only globals,
-- and is never precompiled bytecode (which can break the VM), as Redis
-- refuses it.
function G.loadstring(text, name)
  if type(text) == 'string' and string_sub(text, 1, 1) == '\27' then
    return nil, 'binary chunks are not allowed'
  end
  local chunk, err = raw_loadstring(text, name)
  if chunk then
    raw_setfenv(chunk, globals)
  end
  return chunk, err
end
function G.load(reader, name)
  local parts = {}
  while true do
    local part = reader()
    if part == nil or part == '' then
      break
    end
    parts[#parts + 1] = part
  end
  return G.loadstring(table_concat(parts), name)
end

-- pcall and xpcall cannot swallow SCRIPT KILL: once the script is killed,
-- the error goes on up from every protected call it meets.
local raw_pcall, raw_xpcall, killed = pcall, xpcall, native.killed
local function unless_killed(...)
  if killed() then
    error('Script killed by user with SCRIPT KILL...', 0)
  end
  return ...
end
function G.pcall(...)
  return unless_killed(raw_pcall(...))
end
function G.xpcall(...)
  return unless_killed(raw_xpcall(...))
end

-- Redis' __redis__err__handler: the error as a table, with the place in
-- the script where it was raised (`native.place`: the innermost frame of
-- Lua code not from this file).
local place = native.place
local error_table_of = native.error_table
local function handler(err)
  if type(err) == 'userdata' then
    err = error_table_of(err)
  elseif type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  local source, line = place()
  if source then
    err.source = source
    err.line = line
  end
  return err
end

-- A function (FCALL) gets its keys and arguments as parameters.
local function run(f, keys, argv)
  if keys == nil then
    return raw_xpcall(f, handler)
  end
  return raw_xpcall(function() return f(keys, argv) end, handler)
end

local function loading(on)
  api = on and L or G
end

return G, R, run, loading
