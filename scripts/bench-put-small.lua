-- wrk script for `npm run bench` put_small: every request PUTs a 4 KiB body to a new name.
--   wrk ... URL -- <collection path, e.g. /put_small/> <body bytes> <tag>
-- Thread t writes <coll><tag><t>_<n>.bin, n = 0,1,2,... so no two requests share a name.
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  coll = args[1] or "/put_small/"
  local size = tonumber(args[2] or "4096")
  tag = args[3] or "m"
  body = string.rep("0123456789abcdef", math.floor(size / 16)) .. string.rep("x", size % 16)
  counter = 0
  hdrs = { ["Content-Type"] = "application/octet-stream" }
  -- headers given with -H (e.g. Authorization): wrk.format uses only the table it is given
  for k, v in pairs(wrk.headers) do
    if hdrs[k] == nil then hdrs[k] = v end
  end
end

function request()
  local n = counter
  counter = counter + 1
  return wrk.format("PUT", string.format("%s%s%d_%07d.bin", coll, tag, tid, n), hdrs, body)
end
