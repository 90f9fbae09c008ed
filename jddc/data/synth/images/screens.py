"""Flat phone UI screenshots: the screen frame, UI widgets and one screen per category.

Each screen drawer of SCREENS takes `(rng, img, d, f, pal, theme, top, fact_values)` and
draws the content below `top` onto `img` (drawn on by `d`) in coordinates relative to the
width (Frame `f`); `pal` and `theme` come from `screen_frame`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from jddc.data.synth import facts
from jddc.data.synth.images.canvas import WHITE, Frame, font, mix, muted, pick, rr, star_px
from jddc.data.synth.images.products import paste_product, product_layer

_CHARS = np.array(list("abcdefghijklmnopqrstuvwxyz  0123456789"))
_THEMES = ((228, 57, 60), (255, 100, 20), (24, 128, 236), (12, 170, 96), (120, 80, 220))
_STATUS_COLOURS = {
    "reviewing": (250, 150, 20),
    "approved": (40, 170, 80),
    "rejected": (225, 45, 45),
    "refunded": (30, 120, 230),
}


def _palette(rng):
  if rng.random() < 0.2:
    return {"bg": (16, 16, 18), "card": (38, 38, 42), "bar": (92, 92, 98), "bar2": (66, 66, 72), "ink": (210, 210, 214),
            "text": (140, 140, 146), "grey": (80, 80, 86)}
  t = int(rng.integers(236, 250))
  return {"bg": (t, t, t + 4), "card": (255, 255, 255), "bar": (212, 212, 216), "bar2": (232, 232, 235),
          "ink": (50, 50, 56), "text": (130, 130, 136), "grey": (200, 200, 204)}


def screen_frame(rng, w, h):
  """A phone screen w x h px: status bar and header; returns (image, palette, theme, top).

  Coordinates on it are relative to the width; `top` is where the content starts.
  """
  pal, theme = _palette(rng), pick(rng, _THEMES)
  img = Image.new("RGB", (w, h), pal["bg"])
  d = ImageDraw.Draw(img)
  f = Frame(0, 0, w)
  coloured = rng.random() < 0.6
  head = theme if coloured else pal["card"]
  ink = WHITE if coloured else pal["ink"]
  d.rectangle(f.box(0, 0, 1, .15), fill=head)
  rr(d, f.box(.05, .018, .16, .038), radius=f.w(.008), fill=ink)
  rr(d, f.box(.86, .018, .95, .038), radius=f.w(.006), outline=ink, width=f.w(.005))
  d.line(f.ps(.08, .08, .05, .1, .08, .12), fill=ink, width=f.w(.012))
  tw = rng.uniform(.2, .4)
  rr(d, f.box(.5 - tw / 2, .085, .5 + tw / 2, .115), radius=f.w(.01), fill=ink)
  return img, pal, theme, .15


def card(d, f, box, pal):
  """A rounded card at unit `box` (x0, y0, x1, y1) in `pal`'s card colour, shadowed if light."""
  x0, y0, x1, y1 = box
  if pal["card"] == (255, 255, 255):
    rr(d, f.box(x0, y0 + .006, x1, y1 + .006), radius=f.w(.03), fill=(226, 226, 230))
  rr(d, f.box(*box), radius=f.w(.03), fill=pal["card"])


def bars(rng, d, f, x, y, w, n, pal, h=.022, gap=.042, strong=False):
  """n lines of filler text (random Latin letters and digits) of about w units wide."""
  px = max(6, f.w(1.4 * h))
  for k in range(n):
    length = w * (rng.uniform(.45, 1.0) if k < n - 1 or n == 1 else rng.uniform(.25, .7))
    chars = _CHARS[rng.integers(len(_CHARS), size=max(1, int(length * f.unit / (.5 * px))))]
    colour = pal["ink"] if strong and k == 0 else pal["text"]
    d.text(f.p(x, y + k * gap + h / 2), "".join(chars), font=font(px), fill=colour, anchor="lm")


def stepper(d, f, x0, x1, y, steps, done, colour, pal, r=.035):
  """A horizontal progress bar of `steps` nodes from x0 to x1 at y, the first `done` lit in `colour`."""
  xs = [x0 + (x1 - x0) * k / (steps - 1) for k in range(steps)]
  d.line(f.ps(x0, y, x1, y), fill=pal["grey"], width=f.w(.014))
  d.line(f.ps(x0, y, xs[done - 1], y), fill=colour, width=f.w(.022))
  for k, x in enumerate(xs):
    if k < done:
      d.ellipse(f.circle(x, y, r * (1.25 if k == done - 1 else 1)), fill=colour)
    else:
      d.ellipse(f.circle(x, y, r), fill=pal["card"], outline=pal["grey"], width=f.w(.012))
    rr(d, f.box(x - .05, y + 2.2 * r, x + .05, y + 2.2 * r + .02), radius=f.w(.01), fill=pal["bar"])


def _thumb(rng, canvas, f, x, y, s, product, rgb):
  d = ImageDraw.Draw(canvas)
  rr(d, f.box(x, y, x + s, y + s), radius=f.w(.015), fill=(242, 242, 244))
  layer = product_layer(product, rgb, .78 * s * f.unit, rng)
  paste_product(canvas, layer, *f.p(x + s / 2, y + s / 2), 0, shadow=False)


def _glyph(d, f, kind, cx, cy, r, colour):
  """An icon in a filled circle: check, cross, clock, yen, bang or user."""
  d.ellipse(f.circle(cx, cy, r), fill=colour)
  w, k = f.w(.18 * r), r * .5
  if kind == "check":
    d.line(f.ps(cx - k, cy, cx - .2 * k, cy + .7 * k, cx + k, cy - .6 * k), fill=WHITE, width=w, joint="curve")
  elif kind == "cross":
    d.line(f.ps(cx - k, cy - k, cx + k, cy + k), fill=WHITE, width=w)
    d.line(f.ps(cx - k, cy + k, cx + k, cy - k), fill=WHITE, width=w)
  elif kind == "clock":
    d.ellipse(f.circle(cx, cy, 1.2 * k), outline=WHITE, width=f.w(.12 * r))
    d.line(f.ps(cx, cy - .8 * k, cx, cy, cx + .6 * k, cy + .3 * k), fill=WHITE, width=f.w(.12 * r))
  elif kind == "yen":
    d.line(f.ps(cx - .8 * k, cy - k, cx, cy, cx + .8 * k, cy - k), fill=WHITE, width=w)
    d.line(f.ps(cx, cy, cx, cy + 1.1 * k), fill=WHITE, width=w)
    for dy in (.15, .55):
      d.line(f.ps(cx - .6 * k, cy + dy * k, cx + .6 * k, cy + dy * k), fill=WHITE, width=f.w(.12 * r))
  elif kind == "bang":
    d.line(f.ps(cx, cy - 1.1 * k, cx, cy + .3 * k), fill=WHITE, width=w)
    d.ellipse(f.circle(cx, cy + .85 * k, .13 * r), fill=WHITE)
  elif kind == "user":
    d.ellipse(f.circle(cx, cy - .35 * k, .55 * k), fill=WHITE)
    d.chord(f.box(cx - 1.1 * k, cy + .3 * k, cx + 1.1 * k, cy + 2.2 * k), 180, 360, fill=WHITE)


def _screen_product(rng, img, d, f, pal, theme, top, fv):
  d.rectangle(f.box(0, top, 1, top + .5), fill=mix((247, 247, 249), muted(rng, sat=(0, .15), val=(.85, 1)), .5))
  layer = product_layer(fv["product"], facts.COLOURS[fv["colour"]][1], .42 * f.unit * rng.uniform(.8, 1.0), rng)
  paste_product(img, layer, *f.p(.5 + rng.uniform(-.05, .05), top + .25), 0, shadow=False)
  rr(d, f.box(.84, top + .44, .95, top + .48), radius=f.w(.02), fill=(0, 0, 0, 90))
  d.text(f.p(.05, top + .53), str(int(rng.integers(39, 1999))), font=font(f.w(.08)), fill=(228, 40, 40))
  bars(rng, d, f, .05, top + .65, .9, 2, pal, strong=True)
  d.rectangle(f.box(0, .9, 1, 1), fill=pal["card"])
  for x in (.06, .16, .26):
    rr(d, f.box(x, .92, x + .06, .95), radius=f.w(.01), fill=pal["bar"])
  rr(d, f.box(.38, .915, .66, .985), radius=f.w(.035), fill=(255, 160, 20))
  rr(d, f.box(.67, .915, .95, .985), radius=f.w(.035), fill=(228, 45, 45))


def _screen_product_order(rng, img, d, f, pal, theme, top, fv):
  y = top + rng.uniform(.02, .06)
  card(d, f, (.04, y, .96, y + .56), pal)
  bars(rng, d, f, .08, y + .04, .3, 1, pal, strong=True)
  _thumb(rng, img, f, .08, y + .1, .2, fv["product"], facts.COLOURS[fv["colour"]][1])
  bars(rng, d, f, .33, y + .12, .58, 3, pal, strong=True)
  done = list(facts.ORDER_STATUS).index(fv["order_status"]) + 1
  stepper(d, f, .14, .86, y + .4, 4, done, theme, pal, r=.04)
  y2 = y + .6
  card(d, f, (.04, y2, .96, min(.98, y2 + .24)), pal)
  bars(rng, d, f, .08, y2 + .04, .8, 3, pal)


def _screen_logistics(rng, img, d, f, pal, theme, top, fv):
  map_bottom = top + rng.uniform(.2, .3)
  d.rectangle(f.box(0, top, 1, map_bottom), fill=pick(rng, ((226, 236, 220), (236, 232, 222), (222, 230, 238))))
  for _ in range(4):
    d.line(f.ps(rng.random(), top, rng.random(), map_bottom), fill=(250, 250, 250), width=f.w(.015))
  route = [f.p(rng.uniform(.1, .9), rng.uniform(top + .03, map_bottom - .03)) for _ in range(3)]
  d.line(route, fill=(40, 120, 230), width=f.w(.012))
  state = fv["logistics_status"]
  nodes = int(rng.integers(2, 4)) if state == "exception" else list(facts.LOGISTICS_STATUS).index(state) + 1
  good = theme if theme[0] < 200 else (12, 170, 96)
  y = map_bottom + .03
  card(d, f, (.04, y, .96, .98), pal)
  gap = rng.uniform(.13, .16)
  y0 = y + .08
  d.line(f.ps(.12, y0, .12, y0 + gap * (nodes - 1)), fill=pal["grey"], width=f.w(.012))
  for k in range(nodes):
    yy = y0 + gap * k
    if k == 0:
      _glyph(d, f, {"exception": "bang", "delivered": "check"}.get(state, "clock"), .12, yy, .045,
             (225, 40, 40) if state == "exception" else good)
    else:
      d.ellipse(f.circle(.12, yy, .022), fill=pal["grey"])
    bars(rng, d, f, .22, yy - .02, .68, 2, pal, strong=k == 0, gap=.035)


def _screen_after_sales(rng, img, d, f, pal, theme, top, fv):
  state = fv["after_sales_status"]
  colour = _STATUS_COLOURS[state]
  y = top + rng.uniform(.02, .06)
  card(d, f, (.04, y, .96, y + .5), pal)
  _glyph(d, f, {"reviewing": "clock", "approved": "check", "rejected": "cross", "refunded": "yen"}[state], .16,
         y + .12, .07, colour)
  rr(d, f.box(.28, y + .08, .28 + rng.uniform(.25, .4), y + .13), radius=f.w(.025), fill=colour)
  bars(rng, d, f, .28, y + .16, .6, 1, pal)
  stepper(d, f, .16, .84, y + .34, 3, 2 if state == "reviewing" else 3, colour, pal)
  y2 = y + .54
  card(d, f, (.04, y2, .96, min(.98, y2 + .3)), pal)
  _thumb(rng, img, f, .08, y2 + .04, .16, pick(rng, list(facts.PRODUCT_SHOP)),
         facts.COLOURS[pick(rng, list(facts.COLOURS))][1])
  bars(rng, d, f, .3, y2 + .06, .6, 3, pal)


def _sms_icon(d, f, kind, x, y, s):
  if kind == "pickup_code":
    d.rectangle(f.box(x, y, x + s, y + s), fill=(196, 146, 86))
    d.line(f.ps(x + s / 2, y, x + s / 2, y + s), fill=(240, 220, 180), width=f.w(s / 6))
    d.line(f.ps(x, y + s / 2, x + s, y + s / 2), fill=(240, 220, 180), width=f.w(s / 6))
  elif kind == "refund_notice":
    d.ellipse(f.box(x, y, x + s, y + s), fill=(240, 180, 30))
    d.arc(f.box(x + .22 * s, y + .22 * s, x + .78 * s, y + .78 * s), 200, 520, fill=WHITE, width=f.w(s / 8))
  elif kind == "shipping_notice":
    d.rectangle(f.box(x, y + .15 * s, x + .62 * s, y + .7 * s), fill=(30, 110, 220))
    d.polygon(f.ps(x + .62 * s, y + .35 * s, x + .85 * s, y + .35 * s, x + s, y + .55 * s, x + s, y + .7 * s,
                   x + .62 * s, y + .7 * s), fill=(30, 110, 220))
    for wx in (.2, .78):
      d.ellipse(f.circle(x + wx * s, y + .78 * s, .12 * s), fill=(40, 40, 40))
  elif kind == "verification":
    d.arc(f.box(x + .2 * s, y, x + .8 * s, y + .7 * s), 180, 360, fill=(40, 160, 90), width=f.w(s / 8))
    rr(d, f.box(x + .08 * s, y + .38 * s, x + .92 * s, y + s), radius=f.w(s / 10), fill=(40, 160, 90))
    d.ellipse(f.circle(x + .5 * s, y + .66 * s, .08 * s), fill=WHITE)


def _screen_sms(rng, img, d, f, pal, theme, top, fv):
  kind = fv["sms_kind"]
  bubble = (233, 233, 236) if pal["card"] == (255, 255, 255) else (52, 52, 58)
  n = int(rng.integers(2, 4))
  key = int(rng.integers(n))
  y = top + .04
  for k in range(n):
    rr(d, f.box(.38, y, .62, y + .02), radius=f.w(.01), fill=pal["bar2"])
    y += .04
    lines = 4 if k == key else int(rng.integers(1, 3))
    h = .05 + .042 * lines + (.14 if k == key else 0)
    if y + h > .96:
      break
    rr(d, f.box(.05, y, .8, y + h), radius=f.w(.03), fill=bubble)
    yy = y + .03
    if k == key:
      _sms_icon(d, f, kind, .09, yy, .14)
      if kind in ("pickup_code", "verification"):
        code = "".join(str(int(rng.integers(10))) for _ in range(6 if kind == "verification" else 4))
        d.text(f.p(.28, yy + .03), code, font=font(f.w(.08)), fill=theme)
      yy += .17
    bars(rng, d, f, .09, yy, .66, lines, pal, gap=.042)
    y += h + .03
  d.rectangle(f.box(0, .92, 1, 1), fill=pal["card"])
  rr(d, f.box(.05, .935, .82, .975), radius=f.w(.02), fill=pal["bar2"])


def _screen_comment(rng, img, d, f, pal, theme, top, fv):
  y = top + rng.uniform(.02, .05)
  card(d, f, (.04, y, .96, y + .16), pal)
  _thumb(rng, img, f, .07, y + .02, .12, pick(rng, list(facts.PRODUCT_SHOP)),
         facts.COLOURS[pick(rng, list(facts.COLOURS))][1])
  bars(rng, d, f, .24, y + .04, .65, 2, pal)
  y += .2
  card(d, f, (.04, y, .96, .98), pal)
  d.ellipse(f.circle(.12, y + .07, .045), fill=muted(rng, sat=(.2, .6)))
  bars(rng, d, f, .2, y + .05, .3, 1, pal, strong=True)
  stars = int(fv["stars"])
  r = .04
  for k in range(5):
    d.polygon(star_px(f, .1 + k * 2.4 * r, y + .17, r), fill=(255, 176, 0) if k < stars else pal["grey"])
  lines = int(rng.integers(2, 5))
  bars(rng, d, f, .08, y + .24, .84, lines, pal)
  y += .26 + .042 * lines
  if rng.random() < .6:
    side = min(.25, .96 - y)
    for k in range(int(rng.integers(1, 4))):
      x = .08 + .28 * k
      rr(d, f.box(x, y, x + side, y + side), radius=f.w(.015), fill=muted(rng))


def _error_icon(d, f, error, cx, cy, r):
  if error == "payment_failed":
    _glyph(d, f, "cross", cx, cy, r, (225, 45, 45))
  elif error == "login_failed":
    _glyph(d, f, "user", cx, cy, r, (40, 120, 230))
    _glyph(d, f, "bang", cx + .7 * r, cy + .6 * r, .4 * r, (225, 45, 45))
  elif error == "coupon_invalid":
    rr(d, f.box(cx - 1.2 * r, cy - .7 * r, cx + 1.2 * r, cy + .7 * r), radius=f.w(.2 * r),
                        fill=(255, 130, 30))
    for sx in (-1.2, 1.2):
      d.ellipse(f.circle(cx + sx * r, cy, .25 * r), fill=WHITE)
    d.line(f.ps(cx - r, cy + .9 * r, cx + r, cy - .9 * r), fill=(90, 90, 96), width=f.w(.16 * r))
  elif error == "blank_page":
    d.polygon(f.ps(cx - .7 * r, cy - r, cx + .3 * r, cy - r, cx + .7 * r, cy - .6 * r, cx + .7 * r, cy + r,
                   cx - .7 * r, cy + r), fill=(236, 236, 240), outline=(150, 150, 158))
    d.polygon(f.ps(cx + .3 * r, cy - r, cx + .3 * r, cy - .6 * r, cx + .7 * r, cy - .6 * r), fill=(190, 190, 198))


def _screen_system(rng, img, d, f, pal, theme, top, fv):
  error = fv["app_error"]
  if error == "blank_page":
    cy = rng.uniform(.45, .55)
    _error_icon(d, f, error, .5, cy, .1)
    rr(d, f.box(.34, cy + .16, .66, cy + .21), radius=f.w(.025), outline=theme, width=f.w(.008))
    return
  y = top + .03
  while y < .85:
    h = rng.uniform(.15, .25)
    card(d, f, (.04, y, .96, min(.98, y + h)), pal)
    bars(rng, d, f, .08, y + .04, .8, 2, pal)
    y += h + .03
  d.rectangle(f.box(0, 0, 1, 1), fill=(0, 0, 0, int(rng.integers(90, 150))))
  y0 = rng.uniform(.25, .35)
  rr(d, f.box(.12, y0, .88, y0 + .42), radius=f.w(.04), fill=pal["card"])
  _error_icon(d, f, error, .5, y0 + .1, .065)
  bars(rng, d, f, .22, y0 + .2, .56, 2, pal, strong=True)
  two = rng.random() < .5
  for k in range(2 if two else 1):
    x0 = (.18 + .33 * k) if two else .3
    rr(d, f.box(x0, y0 + .32, x0 + (.3 if two else .4), y0 + .38), radius=f.w(.03),
                        fill=theme if k == int(two) else pal["bar2"])


def _screen_coupon(rng, img, d, f, pal, theme, top, fv):
  y = top + .03
  rr(d, f.box(.04, y, .96, y + .16), radius=f.w(.03), fill=mix(theme, WHITE, .6))
  bars(rng, d, f, .08, y + .04, .5, 2, pal, strong=True)
  colour = pick(rng, ((238, 56, 48), (255, 110, 40), (230, 40, 90)))
  y = top + .24 + rng.uniform(0, .06)
  card(d, f, (.04, y, .96, y + .26), pal)
  rr(d, f.box(.04, y, .4, y + .26), radius=f.w(.03), fill=colour)
  for yy in (y, y + .26):
    d.ellipse(f.circle(.4, yy, .025), fill=pal["bg"])
  d.text(f.p(.22, y + .11), fv["coupon"], font=font(f.w(.14)), fill=WHITE, anchor="mm")
  rr(d, f.box(.14, y + .2, .3, y + .22), radius=f.w(.01), fill=mix(colour, WHITE, .5))
  bars(rng, d, f, .45, y + .05, .45, 2, pal, strong=True)
  rr(d, f.box(.7, y + .17, .92, y + .22), radius=f.w(.025), fill=colour)
  y += .3
  while y < .85:
    h = rng.uniform(.12, .2)
    card(d, f, (.04, y, .96, min(.98, y + h)), pal)
    bars(rng, d, f, .08, y + .04, .8, 2, pal)
    y += h + .03


SCREENS = {
    "screenshot_product": _screen_product,
    "screenshot_product_order": _screen_product_order,
    "screenshot_logistics_order": _screen_logistics,
    "screenshot_after_sales_order": _screen_after_sales,
    "screenshot_text_message": _screen_sms,
    "screenshot_user_comment": _screen_comment,
    "screenshot_system_software": _screen_system,
    "screenshot_other": _screen_coupon,
}
