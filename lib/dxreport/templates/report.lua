-- dxreport: pandoc filter for every conversion of the report.
--
-- Chapter notebook -> Markdown (FORMAT "markdown"): code cells arrive with their source blanked
-- by `render.prepare`: drop the empty code blocks, and unwrap the cell divs so the
-- chapter reads as plain Markdown. The `.output` divs are left alone: pandoc picks the best
-- representation of each output from them (the display objects' `text/markdown`).
--
-- Markdown -> pandoc's AST (FORMAT "json", which the HTML, DOCX and typst writers then read) or
-- Markdown -> typst (the chapters; a report that includes them): the guard. Text from the data
-- reaches pandoc escaped, so it cannot form markup; this filter makes sure that nothing in the document
-- can make a writer read a file or a host the build did not hand it (pandoc also runs with
-- --sandbox), nor put live markup into the output:
--   * an image stays only if its target is one of the build's own figure files
--     (media/<20 hex>.png|svg under the working directory); this filter then puts the file into
--     pandoc's media bag, so the sandboxed writer embeds it without reading anything itself.
--     Any other image is replaced by its description;
--   * a link keeps its target only for http(s), mailto and in-document anchors;
--   * raw HTML, typst, LaTeX, OpenXML ... is dropped, except the typst block of chapter
--     includes that dxreport writes itself (`#include "NN-name.typ"` lines, nothing else), and the
--     raw blocks of the official form, which the build wraps in a div carrying this run's guard
--     token (a random value handed to pandoc in the environment, never in the document's text):
--     the div is unwrapped and its raw blocks kept as they are.

local GUARD = os.getenv("DXREPORT_GUARD") or ""
-- "write": a writer (HTML, DOCX) reading the document this filter already guarded when it was
-- parsed (pandoc's JSON, written by the build): only hand it the figure files, as below.
local STAGE = os.getenv("DXREPORT_STAGE") or ""

local CHAPTER = FORMAT == "markdown"
local WRITE = STAGE == "write" and not CHAPTER

local function is_own_media(src)
  return src:match("^media/[0-9a-f]+%.png$") ~= nil or src:match("^media/[0-9a-f]+%.svg$") ~= nil
end

local function is_include_block(text)
  for line in text:gmatch("[^\n]+") do
    if not line:match('^#include "[%w_%-]+%.typ"$') then
      return false
    end
  end
  return true
end

local function safe_target(target)
  local lower = target:lower()
  return lower:match("^https?://[^%s]+$") ~= nil or lower:match("^mailto:[^%s]+$") ~= nil
    or target:match("^#[%w_%-%.:]*$") ~= nil
end

local filters = {}

if CHAPTER then
  function filters.CodeBlock(el)
    if el.text:match("^%s*$") then return {} end
  end

  function filters.Div(el)
    if el.classes:includes("cell") then
      return el.content
    end
  end
else
  local mime = { png = "image/png", svg = "image/svg+xml" }

  function filters.Div(el)
    if #GUARD >= 32 and el.attributes["guard"] == GUARD then
      return el.content, false  -- the form's own raw blocks: kept, not filtered
    end
  end

  function filters.Image(el)
    if is_own_media(el.src) then
      if FORMAT == "typst" or FORMAT == "json" then  -- a path typst reads itself, or the AST
        local f = io.open(el.src, "rb")
        if f then f:close(); return el end
      else
        local f = io.open(el.src, "rb")
        if f then
          local data = f:read("a")
          f:close()
          pandoc.mediabag.insert(el.src, mime[el.src:match("%.(%a+)$")], data)
          return el
        end
      end
    end
    return el.caption
  end

  function filters.Link(el)
    if safe_target(el.target) then return el end
    return el.content
  end

  function filters.RawInline(el)
    return {}
  end

  function filters.RawBlock(el)
    if el.format == "typst" and FORMAT == "typst" and is_include_block(el.text) then
      return el
    end
    return {}
  end
end

if WRITE then
  return { { Image = filters.Image } }
end
if not CHAPTER then
  filters.traverse = 'topdown'  -- the guard must see a token div before its raw blocks
end
return { filters }
