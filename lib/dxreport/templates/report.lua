-- dxreport: pandoc filter applied to each chapter notebook.
-- Code cells arrive with their source blanked by the nbconvert preprocessors: drop the empty
-- code blocks, and unwrap the cell divs so the chapter reads as plain Markdown. The `.output`
-- divs are left alone: pandoc picks the best representation of each output from them later.
function CodeBlock(el)
  if el.text:match("^%s*$") then return {} end
end

function Div(el)
  if el.classes:includes("cell") then
    return el.content
  end
end
