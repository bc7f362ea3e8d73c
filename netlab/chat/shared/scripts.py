"""
The shared room's two Lua scripts, each run by Redis atomically: what an
entry claims, releases or needs is checked and done in the same step that
appends it, so no other daemon can slip in between.

A name's value in the names hash is C{DAEMON<TAB>NAME} (the owner, then the
name as shown).
"""

from __future__ import annotations

#: KEYS: the names hash, the stream.  ARGV: this daemon, the name key to
#: claim (or ""), its name as shown, the name key to release (or ""), the
#: name key that no other daemon may own (or ""), the stream's MAXLEN, then
#: the entry's fields and values.  Returns the entry's ID, or 0 if refused.
PUBLISH = """
local names, stream = KEYS[1], KEYS[2]
local mine = ARGV[1] .. '\\t'
local function owner(key)
  local value = redis.call('HGET', names, key)
  if not value then return nil end
  return string.sub(value, 1, #mine) == mine
end
if ARGV[5] ~= '' and owner(ARGV[5]) == false then return 0 end
if ARGV[2] ~= '' then
  if owner(ARGV[2]) == false then return 0 end
  redis.call('HSET', names, ARGV[2], mine .. ARGV[3])
end
if ARGV[4] ~= '' and ARGV[4] ~= ARGV[2] and owner(ARGV[4]) then
  redis.call('HDEL', names, ARGV[4])
end
return redis.call('XADD', stream, 'MAXLEN', '~', ARGV[6], '*', unpack(ARGV, 7))
"""

#: KEYS: the names hash, the stream, the lost daemon's heartbeat key.  ARGV:
#: the lost daemon, the stream's MAXLEN, the reason.  If the heartbeat is
#: still missing, frees the daemon's names, each with a C{leave} entry (with
#: no sequence number: it is nobody's to repeat), and returns them; if the
#: heartbeat is back, returns 0.
REAP = """
local names, stream = KEYS[1], KEYS[2]
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local prefix = ARGV[1] .. '\\t'
local all = redis.call('HGETALL', names)
local gone = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  if string.sub(value, 1, #prefix) == prefix then
    local name = string.sub(value, #prefix + 1)
    redis.call('HDEL', names, all[i])
    redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*',
               't', 'leave', 'd', ARGV[1], 'a', name, 'x', ARGV[3])
    gone[#gone + 1] = name
  end
end
return gone
"""
