"""The report as one static HTML page: inline CSS and JS, images as data URIs, SVG drawings.

Every example is a `<tr class="example">` carrying `data-has-image` ("1"/"0") and
`data-categories` (space-separated image categories); the page's script hides rows (the
`hidden` attribute) by the two filters, whose state is also read from and written to the URL
hash (`#has_image=1&category=receipt`). Each `<img>` gets `data-natural-width` and
`data-natural-height` once decoded, so a headless browser's DOM dump shows the sizes.
"""

from __future__ import annotations

import html
from typing import Optional, Sequence

from jddc.report import rows as rows_lib
from jddc.report.runs import Run, Thumbnails

RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
SPEAKERS = {0: "customer", 1: "agent"}

CSS = """
body{font-family:sans-serif;margin:1em;color:#222}
table.examples{border-collapse:collapse;width:100%}
table.examples td,table.examples th{border:1px solid #ccc;padding:4px;vertical-align:top}
.msg{margin:2px 0;padding:2px 4px;border-radius:4px}
.msg.s0{background:#eef5ff}.msg.s1{background:#f3f3f3;margin-left:1.5em}
.pred{white-space:pre-wrap}.metrics{font-size:85%;color:#555}
img.thumb{max-width:160px;max-height:160px;display:block}
.missing-image{display:inline-block;border:1px dashed #d62728;color:#d62728;padding:4px;font-size:85%}
.cat{font-size:80%;color:#666}.filters{margin:1em 0;padding:.5em;background:#fafafa;border:1px solid #ddd}
svg text{font-size:11px;font-family:sans-serif}
.arc.pred.ok{stroke:#2ca02c}.arc.pred.wrong{stroke:#d62728}.arc.gold{stroke:#555}
.curves figure{display:inline-block;margin:0 1em 1em 0}
"""

SCRIPT = """
function readHash(){
  const state={};
  for(const part of location.hash.replace(/^#/,'').split('&')){
    if(!part)continue;const kv=part.split('=');state[decodeURIComponent(kv[0])]=decodeURIComponent(kv[1]||'');
  }
  return state;
}
function applyFilters(){
  const hasImage=document.getElementById('filter-has-image').value;
  const category=document.getElementById('filter-category').value;
  let shown=0;
  for(const row of document.querySelectorAll('tr.example')){
    let visible=true;
    if(hasImage!=='' && row.dataset.hasImage!==hasImage)visible=false;
    if(category!=='' && !row.dataset.categories.split(' ').includes(category))visible=false;
    row.hidden=!visible;if(visible)shown++;
  }
  document.getElementById('visible-count').textContent=String(shown);
}
function fromHash(){
  const state=readHash();
  document.getElementById('filter-has-image').value=state.has_image||'';
  document.getElementById('filter-category').value=state.category||'';
  applyFilters();
}
function toHash(){
  const parts=[];
  const hasImage=document.getElementById('filter-has-image').value;
  const category=document.getElementById('filter-category').value;
  if(hasImage!=='')parts.push('has_image='+hasImage);
  if(category!=='')parts.push('category='+encodeURIComponent(category));
  history.replaceState(null,'','#'+parts.join('&'));
  applyFilters();
}
function recordSize(img){
  img.dataset.naturalWidth=img.naturalWidth;img.dataset.naturalHeight=img.naturalHeight;
}
document.addEventListener('DOMContentLoaded',function(){
  document.getElementById('filter-has-image').addEventListener('change',toHash);
  document.getElementById('filter-category').addEventListener('change',toHash);
  window.addEventListener('hashchange',fromHash);
  for(const img of document.querySelectorAll('img.thumb')){
    if(img.complete)recordSize(img);else img.addEventListener('load',function(){recordSize(img);});
  }
  fromHash();
});
window.addEventListener('load',function(){for(const img of document.querySelectorAll('img.thumb'))recordSize(img);});
"""


def esc(value) -> str:
  return html.escape(str(value), quote=True)


def _image(name: str, thumbnails: Thumbnails, categories: dict[str, str]) -> str:
  uri, why = thumbnails.get(name)
  category = categories.get(name)
  label = f'<div class="cat">{esc(name)}{" · " + esc(category) if category else ""}</div>'
  if uri is None:
    return f'<span class="missing-image" data-image="{esc(name)}">{esc(why)}</span>{label}'
  return f'<img class="thumb" alt="{esc(name)}" data-image="{esc(name)}" src="{uri}">{label}'


def dialogue_html(messages: Sequence[rows_lib.Message], thumbnails: Thumbnails, categories: dict[str, str],
                  numbered: bool = False) -> str:
  """The messages as speaker-coloured blocks, images as thumbnails (or placeholders naming them)."""
  out = []
  for k, m in enumerate(messages):
    who = SPEAKERS.get(m.speaker, "?") if m.speaker is not None else ""
    body = _image(m.image, thumbnails, categories) if m.image else esc(m.text)
    number = f"<b>{k}</b> " if numbered else ""
    out.append(f'<div class="msg s{m.speaker if m.speaker in SPEAKERS else 0}" title="{esc(who)}">'
               f'{number}<span class="cat">{esc(who)}</span> {body}</div>')
  return "".join(out)


def discourse_svg(num_edus: int, links: Sequence[tuple], gold: Optional[set] = None, css: str = "pred") -> str:
  """EDUs 0..n-1 as numbered points down a column (as the dialogue beside it lists them), each
  link (parent, child, relation) an arc to their right, labelled with its relation.

  `gold` (a set of (parent, child, relation)) colours a predicted arc `ok` when it is there,
  `wrong` otherwise. One `<path class="arc ...">` per link.
  """
  row, x0 = 22, 14
  widest = max([abs(c - p) for p, c, _ in links] + [1])
  height, width = 12 + row * max(num_edus, 1), x0 + 10 * widest + 110

  def y(i):
    return 12 + row * i

  parts = [f'<svg class="discourse" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
  for i in range(num_edus):
    parts.append(f'<circle cx="{x0}" cy="{y(i)}" r="8" fill="#fff" stroke="#888"/>'
                 f'<text x="{x0}" y="{y(i) + 4}" text-anchor="middle">{i}</text>')
  for p, c, relation in links:
    bulge, middle = 8 + 10 * abs(c - p), (y(p) + y(c)) / 2
    kind = css if gold is None else f"{css} {'ok' if (p, c, relation) in gold else 'wrong'}"
    parts.append(f'<path class="arc {kind}" data-parent="{p}" data-child="{c}" fill="none" stroke-width="1.5" '
                 f'd="M{x0 + 8},{y(p)} Q{x0 + 8 + 2 * bulge},{middle} {x0 + 8},{y(c)}"/>'
                 f'<text x="{x0 + 12 + bulge}" y="{middle + 4}">{esc(relation)}</text>')
  parts.append("</svg>")
  return "".join(parts)


def _metrics_html(metrics: dict[str, float]) -> str:
  return '<div class="metrics">' + " ".join(f"{esc(k)} {v:.2f}" for k, v in metrics.items()) + "</div>"


def _cell(kind: str, example: Optional[rows_lib.Example], gold: Optional[set], num_edus: int) -> str:
  if example is None:
    return '<td class="absent">(no prediction for this example)</td>'
  if kind == "discourse":
    body = discourse_svg(num_edus, example.prediction, gold)
  else:
    body = f'<div class="pred">{esc(example.prediction)}</div>'
  return f'<td class="prediction">{body}{_metrics_html(example.metrics)}</td>'


def example_row(kind: str, slots: Sequence[Optional[rows_lib.Example]], thumbnails: Thumbnails,
                categories: dict[str, str], difference: float) -> str:
  """One `<tr class="example">`: key, dialogue, reference, then each run's prediction and metrics."""
  first = next(e for e in slots if e is not None)
  images = first.images
  cats = sorted({categories[name] for name in images if name in categories})
  key = " / ".join(str(k) for k in first.key)
  dialogue = dialogue_html(first.messages, thumbnails, categories, numbered=kind == "discourse")
  if kind == "discourse":
    reference = discourse_svg(len(first.messages), first.reference, css="gold")
    gold = set(first.reference)
  else:
    reference, gold = f'<div class="pred">{esc(first.reference)}</div>', None
  diff = f'<div class="metrics">difference {difference:.2f}</div>' if difference >= 0 else ""
  cells = "".join(_cell(kind, e, gold, len(first.messages)) for e in slots)
  return (f'<tr class="example" data-key="{esc(key)}" data-has-image="{int(bool(images))}" '
          f'data-categories="{esc(" ".join(cats))}"><td class="key">{esc(key)}{diff}</td>'
          f'<td class="dialogue">{dialogue}</td><td class="reference">{reference}</td>{cells}</tr>')


def curve_svg(name: str, series: Sequence[tuple[str, Sequence[tuple[int, float]]]], width: int = 320,
              height: int = 180) -> str:
  """One metric of several runs as polylines (one `<polyline class="curve">` per run with points)."""
  points = [p for _, s in series for p in s]
  if not points:
    return ""
  steps, values = [p[0] for p in points], [p[1] for p in points]
  s0, s1, v0, v1 = min(steps), max(steps), min(values), max(values)
  s1, v1 = (s1 if s1 > s0 else s0 + 1), (v1 if v1 > v0 else v0 + 1)
  left, bottom, right, top = 50, height - 25, width - 10, 10

  def xy(step, value):
    return (left + (right - left) * (step - s0) / (s1 - s0), bottom - (bottom - top) * (value - v0) / (v1 - v0))

  parts = [f'<figure><figcaption>{esc(name)}</figcaption><svg class="curve-chart" data-metric="{esc(name)}" '
           f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
           f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#888"/>'
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>',
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{v1:.3g}</text>'
           f'<text x="{left - 4}" y="{bottom}" text-anchor="end">{v0:.3g}</text>'
           f'<text x="{left}" y="{height - 8}">{s0}</text>'
           f'<text x="{right}" y="{height - 8}" text-anchor="end">{s1}</text>']
  for r, (run_name, s) in enumerate(series):
    if not s:
      continue
    colour = RUN_COLOURS[r % len(RUN_COLOURS)]
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in sorted(s)))
    parts.append(f'<polyline class="curve" data-run="{esc(run_name)}" fill="none" stroke="{colour}" '
                 f'stroke-width="1.5" points="{coords}"/>')
    if len(s) == 1:
      x, y = xy(*s[0])
      parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
  parts.append("</svg></figure>")
  return "".join(parts)


def curves_html(runs: Sequence[Run]) -> str:
  names = sorted({n for run in runs for n in run.curves}, key=lambda n: (n != "train/loss", n))
  legend = " ".join(f'<span style="color:{RUN_COLOURS[r % len(RUN_COLOURS)]}">&#9632; {esc(run.name)}</span>'
                    for r, run in enumerate(runs))
  charts = "".join(curve_svg(n, [(run.name, run.curves.get(n, [])) for run in runs]) for n in names)
  return (f'<section class="curves"><h2>Curves</h2><p>{legend}</p>'
          f'{charts or "<p>No metrics.jsonl in these runs.</p>"}</section>')


def page(runs: Sequence[Run], aligned: Sequence[Sequence[Optional[rows_lib.Example]]], total: int,
         thumbnails: Thumbnails, categories: dict[str, str]) -> str:
  """The whole page. `aligned`: the examples shown ([example][run]), `total`: how many there were."""
  task, split = runs[0].task, runs[0].split
  kind = rows_lib.KINDS[task]
  differences = [rows_lib.difference(task, slots) for slots in aligned]
  body = "".join(example_row(kind, slots, thumbnails, categories, d) for slots, d in zip(aligned, differences))
  run_headers = "".join(f'<th class="run" style="color:{RUN_COLOURS[r % len(RUN_COLOURS)]}">{esc(run.name)}</th>'
                        for r, run in enumerate(runs))
  sources = "".join(f"<li><b>{esc(run.name)}</b>: {esc(run.predictions_path)} · "
                    f"{'images: ' + esc(run.images.image_dir) if run.images.image_dir else esc(run.images.note)}</li>"
                    for run in runs)
  options = "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in sorted(set(categories.values())))
  order = (f"sorted by the difference in {rows_lib.PRIMARY[task]} between {esc(runs[0].name)} and {esc(runs[1].name)}, "
           "largest first" if len(runs) >= 2 else "in file order")
  missing = (f'<p class="missing-image">{len(thumbnails.missing)} image(s) could not be shown: '
             f'{esc(", ".join(thumbnails.missing[:20]))}</p>' if thumbnails.missing else "")
  return f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>jddc report: {esc(task)} ({esc(split)})</title>
<style>{CSS}</style><script>{SCRIPT}</script></head>
<body data-task="{esc(task)}" data-split="{esc(split)}">
<h1>{esc(task)} · split {esc(split)}</h1>
<ul class="sources">{sources}</ul>
{missing}
{curves_html(runs)}
<h2>Examples</h2>
<p>{len(aligned)} of {total} examples shown, {order}; <span id="visible-count">{len(aligned)}</span> visible.</p>
<div class="filters">Image: <select id="filter-has-image"><option value="">any</option>
<option value="1">with an image</option><option value="0">without an image</option></select>
Category: <select id="filter-category"><option value="">any</option>{options}</select></div>
<table class="examples"><thead><tr><th>example</th><th>dialogue</th><th>reference</th>{run_headers}</tr></thead>
<tbody>{body}</tbody></table>
</body></html>
"""
