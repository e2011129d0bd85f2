-- dxreport: one pandoc process for a whole report, run as `pandoc lua write.lua CONFIG.json`.
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

local config = pandoc.json.decode(io.open(arg[1], "rb"):read("a"), false)

local function read_file(path, mode)
  local handle = assert(io.open(path, mode or "rb"))
  local text = handle:read("a")
  handle:close()
  return text
end

local doc = pandoc.read(read_file(config.markdown), config.reader, nil, {})

-- the guard, exactly as the parse stage runs it (FORMAT "json", the filter's parse stage)
FORMAT = "json"
for _, filter in ipairs(dofile(config.filter)) do
  doc = doc:walk(filter)
end

local mime = { png = "image/png", svg = "image/svg+xml" }

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
