-- wrk script: send DEPTH copies of the request in one write (HTTP/1.1
-- pipelining); wrk counts each response. Usage: wrk -s pipeline.lua URL -- 16
init = function(args)
   local depth = tonumber(args[1]) or 16
   local one = wrk.format()
   local parts = {}
   for i = 1, depth do parts[i] = one end
   batch = table.concat(parts)
end

request = function()
   return batch
end
