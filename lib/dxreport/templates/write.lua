-- dxreport: one pandoc process for a whole report, run as `pandoc lua write.lua CONFIG.json`,
-- or for report after report, run as `pandoc lua write.lua --serve` (a batch: `dxreport site`).
--
-- What `render.render_pandoc` otherwise does in four processes (parse the joined Markdown through
-- the guard into JSON, then an HTML, a DOCX and a typst writer each reading that JSON), done in
-- one: the Markdown is read once, in a sandbox that lets the reader open no file, walked by the
-- same guard filter (report.lua, as the parse does it), and handed to each writer. The writers
-- get the same options the command line gives them; the DOCX writer gets the build's own figure
-- files in its media bag, the only files it needs. The configuration is a JSON file the build
-- writes itself: paths of the build's working folder and templates, never text from the data.
-- Each output's path is printed once the file is whole (the build compiles the PDF from the
-- typst file while the other writers run).
--
-- --serve: a configuration path per line on standard input; after each report a line "=ok HITS
-- MISSES" (the cells read so far from memory and by the reader) or "=error MESSAGE"; the
-- process ends at the end of its input. A process that stays pays pandoc's start-up, and warms
-- its heap and writers, once; and it reads each cell once (`read_document`): the periods of a
-- site share about half of their tables and paragraphs word for word.

local function read_file(path, mode)
  local handle = assert(io.open(path, mode or "rb"))
  local text = handle:read("a")
  handle:close()
  return text
end

-- Reading: each output cell (a fenced div ".output", one display object's Markdown) is read on
-- its own and kept, by its text, for the next report that holds the same cell. A cell's blocks
-- do not depend on the rest of the document, with exceptions pandoc's Markdown has: reference
-- and note definitions (anywhere in a document, used anywhere), automatic heading identifiers
-- (unique across the document), links to headings by their text, numbered example lists. A
-- document with a definition is read whole; a cell with a heading, a bracket that is not a link
-- or a span, an example list, a code block or a nested div is left in place for the document's
-- own reading. The result is the same document either way (tests/test_pandoc_server.py).
local MEMO_LIMIT = 20000  -- cells kept; past it, the memory starts afresh
local memo, memo_size = {}, 0
local stats = { hits = 0, misses = 0 }
local TOKEN = string.format("dxcell%08x%08xn", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))

local function lines_of(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines
end

local function standalone(body)
  for _, line in ipairs(lines_of(body)) do
    if line:match("^%s*:::") or line:match("^%s*```") or line:match("^%s*~~~")
        or line:match("^%s*#") or line:match("^%s*[=-]+%s*$") or line:match("%(@") then
      return false
    end
  end
  local from = 1
  while true do  -- every unescaped "]" opens a link target or attributes: "](" or "]{"
    local at = body:find("]", from, true)
    if not at then
      return true
    end
    local slashes, i = 0, at - 1
    while i >= 1 and body:sub(i, i) == "\\" do
      slashes, i = slashes + 1, i - 1
    end
    if slashes % 2 == 0 then
      local after = body:sub(at + 1, at + 1)
      if after ~= "(" and after ~= "{" then
        return false
      end
    end
    from = at + 1
  end
end

local function has_definitions(text)
  return text:find("^ ? ? ?%*?%[[^%]\n]*%]:") ~= nil or text:find("\n ? ? ?%*?%[[^%]\n]*%]:") ~= nil
end

local function copy_blocks(blocks)
  local copy = pandoc.Blocks({})
  for i, block in ipairs(blocks) do
    copy[i] = block:clone()
  end
  return copy
end

local function read_document(text, reader)
  local function whole()
    return pandoc.read(text, reader, nil, {})
  end
  if has_definitions(text) or text:find(TOKEN, 1, true) then
    return whole()
  end
  local lines, kept, cells = lines_of(text), {}, {}
  local i = 1
  while i <= #lines do
    local line = lines[i]
    local placed = false
    if line:match("^:::+ {%.output[ }]") then
      local j = i + 1
      while j <= #lines and not lines[j]:match("^:::+%s*$") do
        j = j + 1
      end
      if j <= #lines then
        local body = table.concat(lines, "\n", i + 1, j - 1)
        if standalone(body) then
          cells[#cells + 1] = body
          kept[#kept + 1] = line
          kept[#kept + 1] = TOKEN .. #cells
          kept[#kept + 1] = lines[j]
          i, placed = j + 1, true
        end
      end
    end
    if not placed then
      kept[#kept + 1] = line
      i = i + 1
    end
  end
  if #cells == 0 then
    return whole()
  end
  local doc = pandoc.read(table.concat(kept, "\n"), reader, nil, {})
  local found = 0
  doc = doc:walk({
    Div = function(el)
      local only = #el.content == 1 and el.content[1]
      if not (only and only.t == "Para" and #only.content == 1 and only.content[1].t == "Str") then
        return nil
      end
      local n = tonumber(only.content[1].text:match("^" .. TOKEN .. "(%d+)$") or "")
      if not (n and cells[n]) then
        return nil
      end
      found = found + 1
      local key = reader .. "\n" .. cells[n]
      local blocks = memo[key]
      if blocks then
        stats.hits = stats.hits + 1
      else
        stats.misses = stats.misses + 1
        blocks = pandoc.read(cells[n], reader, nil, {}).blocks
        if memo_size >= MEMO_LIMIT then
          memo, memo_size = {}, 0
        end
        memo[key], memo_size = blocks, memo_size + 1
      end
      el.content = copy_blocks(blocks)
      return el
    end,
  })
  if found ~= #cells then  -- a cell's place was not where it was put: read the text as written
    return whole()
  end
  return doc
end

local mime = { png = "image/png", svg = "image/svg+xml" }

local function write_report(config)
  local doc = read_document(read_file(config.markdown), config.reader)

  -- the guard, exactly as the parse stage runs it (FORMAT "json", the filter's parse stage)
  FORMAT = "json"
  for _, filter in ipairs(dofile(config.filter)) do
    doc = doc:walk(filter)
  end

  for _, out in ipairs(config.outputs) do
    local options = {
      table_of_contents = config.toc or false,
      toc_depth = config.toc and 2 or 3,
      number_sections = config.toc or false,
    }
    if out.wrap then
      options.wrap_text = out.wrap
    end
    if out.template_file then
      options.template = pandoc.template.compile(read_file(out.template_file, "r"))
    elseif out.standalone then
      options.template = pandoc.template.compile(pandoc.template.default(out.format))
    end
    if out.variables then
      options.variables = out.variables
    end
    if out.reference_doc then
      options.reference_doc = out.reference_doc
    end
    local written = doc
    if out.meta then
      written = doc:clone()
      for key, value in pairs(out.meta) do
        written.meta[key] = value
      end
    end
    if out.media then
      for _, name in ipairs(config.media) do
        pandoc.mediabag.insert(name, mime[name:match("%.(%a+)$")], read_file(name))
      end
    end
    local result = pandoc.write(written, out.format, options)
    local handle = assert(io.open(out.path, "wb"))
    handle:write(result)
    handle:close()
    -- the file is whole: the build may start on it (typst compiles the PDF meanwhile)
    io.stdout:write(out.path, "\n")
    io.stdout:flush()
  end
end

local function report(config_path)
  local config = pandoc.json.decode(read_file(config_path), false)
  pandoc.mediabag.empty()  -- the figures of the report before are not this one's
  -- relative paths (the figures, media/<hash>.png) are the report's working folder's
  pandoc.system.with_working_directory(config.workdir, function()
    write_report(config)
  end)
end

-- --serve --warm: started ahead of its first report (a batch's kernels are starting), the
-- process runs its reader and writers once on a sample, so the first report finds them warm
local function warm_up()
  local sample = pandoc.read("# Mục\n\nĐoạn *văn* [liên kết](#muc).\n\n| A | B |\n|:--|--:|\n| một | 2 |\n\n: Bảng\n",
                             "markdown", nil, {})
  for _, format in ipairs({ "typst", "html5", "docx" }) do
    pandoc.write(sample, format)
  end
end

if arg[1] == "--serve" then
  if arg[2] == "--warm" then
    pcall(warm_up)
  end
  for line in io.stdin:lines() do
    if line ~= "" then
      local ok, err = pcall(report, line)
      if ok then
        io.stdout:write("=ok ", stats.hits, " ", stats.misses, "\n")
      else
        io.stdout:write("=error ", (tostring(err):gsub("\n", " ")), "\n")
      end
      io.stdout:flush()
    end
  end
else
  report(arg[1])
end
