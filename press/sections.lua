-- A custom pandoc reader: several texts, each parsed on its own, in one run of pandoc.
-- Input: JSON {"reader": "markdown", "texts": ["...", ...]}. Output: one RawBlock of format
-- "press-json" per text, holding the document that `pandoc --from <reader> --to json` makes
-- of that text alone (see press.pandoc.parse_apart).
function Reader(inputs, _opts)
  local request = pandoc.json.decode(tostring(inputs), false)
  local blocks = {}
  for i, text in ipairs(request.texts) do
    local doc = pandoc.read(text, request.reader)
    blocks[i] = pandoc.RawBlock("press-json", pandoc.write(doc, "json"))
  end
  return pandoc.Pandoc(blocks)
end
