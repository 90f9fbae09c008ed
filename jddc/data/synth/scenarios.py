"""Scenario scripts of the embedded corpus, one flow per family of image subcategories.

A session is: an opening, a problem told with an image whose facts the text only points
at, agent replies that read those facts off the image (and off the SKU's knowledge
triples), often a second image (an order, logistics or product picture), a solution, and a
closing. Each flow returns the summary and the rewrite of its main multimodal query,
written from the same facts.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from jddc.data.synth import facts as F
from jddc.data.synth.catalogue import Sku, find_sku
from jddc.data.synth.script import Script
from jddc.data.synth.side_exchanges import wrap_up

AFTER_SALES_PHOTOS = ("photo_damaged_appearance", "photo_malfunction", "photo_missing_items", "photo_installation")
PRE_SALES = ("photo_purchase_consultation", "photo_recommendation_comparison", "screenshot_product")

# Main image subcategory per shop type, with weights (appliances: consultation and usage;
# fashion: damaged appearance, as the paper's Section 3.5 observes).
PRIMARY_WEIGHTS = {
    "home_appliances": {
        "photo_damaged_appearance": 8, "photo_malfunction": 14, "photo_missing_items": 8, "photo_installation": 9,
        "photo_purchase_consultation": 12, "photo_recommendation_comparison": 7, "screenshot_product": 6,
        "screenshot_product_order": 7, "screenshot_logistics_order": 7, "screenshot_after_sales_order": 5,
        "screenshot_text_message": 4, "photo_user_screen": 4, "screenshot_user_comment": 3,
        "screenshot_system_software": 3, "screenshot_other": 3},
    "fashion": {
        "photo_damaged_appearance": 16, "photo_malfunction": 10, "photo_missing_items": 8, "photo_installation": 3,
        "photo_purchase_consultation": 10, "photo_recommendation_comparison": 8, "screenshot_product": 6,
        "screenshot_product_order": 7, "screenshot_logistics_order": 7, "screenshot_after_sales_order": 5,
        "screenshot_text_message": 4, "photo_user_screen": 4, "screenshot_user_comment": 4,
        "screenshot_system_software": 3, "screenshot_other": 3},
}

P_DEGRADED = 0.14  # the paper: 14.28% of multimodal queries cannot be rewritten
P_SECOND_IMAGE = 0.85
P_VAGUE_QUERY = 0.5  # the query's words do not say what the picture shows
_VAGUE_QUERIES = ("看看这个", "帮我看下这个", "这个怎么回事？", "你看一下", "这是什么情况？")

# How a customer's picture relates to the words it comes with depends on what it shows: a
# proof of what they claim (a defect, a missing part, a state of an order) or an elaboration
# of details the words leave out. After a vague query only the picture tells them apart,
# which is what the multimodal discourse parser (Table 8) can use and the text-only cannot.
_PICTURE_RELATION = {
    "photo_damaged_appearance": "proof", "photo_missing_items": "proof", "screenshot_product_order": "proof",
    "screenshot_logistics_order": "proof", "screenshot_after_sales_order": "proof",
    "screenshot_user_comment": "proof", "photo_user_screen": "proof",
    "photo_malfunction": "elaboration", "photo_installation": "elaboration",
    "photo_purchase_consultation": "elaboration", "photo_recommendation_comparison": "elaboration",
    "screenshot_product": "elaboration", "screenshot_text_message": "elaboration",
    "screenshot_system_software": "elaboration", "screenshot_other": "elaboration",
}


@dataclasses.dataclass
class Outcome:
  summary: str
  rewrite_messages: list[int]  # the main multimodal query's message indices
  can_rewrite: bool
  rewrite: str


def picture_relation(s: Script, slot: str) -> str:
  """The relation of the picture in `slot` to the customer's words it illustrates."""
  return _PICTURE_RELATION[s.images[slot].category]


def query_text(s: Script, specific: tuple[str, ...]) -> str:
  """A query pointing at the picture: one of the category's own wordings, or a vague one."""
  return s.pick(_VAGUE_QUERIES) if s.chance(P_VAGUE_QUERY) else s.pick(specific)


def _draw(s: Script, table: dict[str, str], exclude: tuple = ()) -> str:
  keys = [k for k in table if k not in exclude]
  return s.pick(keys)


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------

def opening(s: Script) -> Optional[int]:
  """The customer's first words; returns the EDU the agent's greeting answers, or None."""
  if s.chance(0.25):
    return None
  contact = s.chance(0.5)
  text = s.pick(("在吗？", "在不在", "有人吗？", "客服在吗")) if contact else s.pick(("你好", "您好", "hi", "你好客服"))
  (edu,) = s.say(False, (text, None, None))
  return edu


def greeting_part(s: Script, open_edu: Optional[int]) -> tuple:
  text = s.pick(("您好，", "亲，您好，", "您好，欢迎光临，", "在的亲，", "您好，很高兴为您服务，"))
  relation = "confirm" if open_edu is not None and s.message_texts[0] and "在" in s.message_texts[0] else "social"
  return (text, open_edu, relation)


_BACKGROUNDS = ("昨天刚收到的", "第一次在你们家买", "给家里人买的", "等了好几天了", "着急用")


def query(s: Script, slot: str, text: str, anchor: Optional[int], relation: Optional[str]) -> tuple[int, int, list[int]]:
  """The customer's multimodal query: a pointing text and the image, in either order.

  Returns (text EDU, image EDU, message indices of the query).
  """
  first_message = len(s.messages)
  background = s.pick(_BACKGROUNDS) if s.chance(0.4) else None
  if s.chance(0.6):
    t = s.say(False, (text, anchor, relation), *([(background, -1, "background")] if background else []))[0]
    img = s.show(slot, t, picture_relation(s, slot))
  else:
    img = s.show(slot, anchor, relation)
    t = s.say(False, (text, img, "5w1h" if any(q in text for q in ("怎么", "什么", "哪")) else "yes_no"),
              *([(background, -1, "background")] if background else []))[0]
  return t, img, list(range(first_message, len(s.messages)))


def retake(s: Script, slot: str, after: int, greeting: Optional[tuple]) -> int:
  """The agent cannot read a degraded image and asks again; returns the clear image's EDU."""
  parts = [greeting] if greeting else []
  parts.append((s.pick(("图片有点模糊，看不太清楚，麻烦您重新拍一张哦", "亲，这张图片太暗了看不清，能再拍一张吗？",
                        "不好意思图片不太清晰，麻烦您重新发一张清楚一点的")), after, "request", [f"{slot}.legibility"]))
  ids = s.say(True, *parts)
  clear = f"{slot}r"
  old = s.images[slot]
  s.add_image(clear, old.category, old.facts)
  (ok,) = s.say(False, (s.pick(("好的", "稍等", "行", "嗯嗯")), ids[-1], "suggestion_acceptance"))
  img = s.show(clear, ok, picture_relation(s, clear))
  # Facts now come from the clear picture; its slot shares the facts of the degraded one.
  s.shown.update(f"{slot}.{name}" for name in old.facts)
  return img


def _after_sales_topic(s: Script, category: str) -> tuple[str, list[str]]:
  w = s.word
  if category == "photo_damaged_appearance":
    return f"{w('p1.product')}{w('p1.defect')}", ["p1.defect"]
  if category == "photo_malfunction":
    return f"{w('p1.product')}{w('p1.fault')}", ["p1.fault"]
  if category == "photo_missing_items":
    return f"少{w('p1.missing')}", ["p1.missing"]
  return f"{w('p1.part')}安装", ["p1.part"]


def closing(s: Script, last: int) -> None:
  relation = "promise_acceptance" if s.edus[last].relation == "promise" else "social"
  (thanks,) = s.say(False, (s.pick(("好的谢谢", "好的，谢谢啊", "嗯嗯 谢谢", "行，麻烦了", "好吧")), last, relation))
  if s.chance(0.6):
    s.say(True, (s.pick(("不客气，还有其他问题随时联系我们哦～", "不客气，祝您生活愉快！", "应该的，感谢您的支持~",
                         "不客气哈，有问题再找我")), thanks, "social"))


# ---------------------------------------------------------------------------
# After-sales photos: damaged, malfunction, missing items, installation
# ---------------------------------------------------------------------------

_COMPLAINTS = ("这个怎么回事？", "收到的东西是这样的", "你们这个质量也太差了吧", "刚收到就这样了", "看看这个", "这是什么情况？")
_SOLUTION_WORD = {"crack": "换新", "hole": "换新", "dent": "换新", "scratch": "补偿", "stain": "补偿"}
_FAULT_FIX = {
    "red_light": "红灯常亮一般是干烧保护，断电冷却十分钟后再试试",
    "no_light": "指示灯不亮请先检查插座和电源线是否插紧",
    "code_e1": "E1是温度传感器故障，需要寄回检修",
    "code_e3": "E3是内部过热保护，清理底部通风口后重新开机",
    "smoke": "冒烟请立即停止使用并断电，我们给您换新",
    "zipper_broken": "拉链坏了可以给您寄一个拉链头，或者退回维修",
    "sole_detached": "开胶属于质量问题，给您换一双新的",
    "seam_split": "开线属于质量问题，给您退回免费修补",
    "button_missing": "掉扣子我们给您补寄同款纽扣",
    "fading": "掉色请用冷水手洗，严重的话给您退货",
}
_PART_HOWTO = {
    "base": "底座要对准卡槽顺时针拧紧，听到咔哒声就装好了",
    "lid": "盖子要先扣住后面的卡扣，再往下按",
    "handle": "把手对准两侧的孔位插入，再拧上螺丝",
    "plug": "插头请直接插在墙插上，不要用排插",
    "hood": "帽子沿着领口的拉链拉上就能装好",
    "strap": "肩带穿过背面的扣环后调节长度",
    "zipper": "拉链头要先对齐底部插销再往上拉",
    "pocket": "口袋内侧有暗扣，按下就能打开",
}


def _problem_facts(s: Script, category: str, sku: Sku) -> dict[str, str]:
  shop = sku.shop_type
  out = {"product": sku.product}
  if "colour" in F.IMAGE_FACTS[category]:
    out["colour"] = s.pick(sku.colours)
  if category == "photo_damaged_appearance":
    out.update(defect=_draw(s, F.DEFECTS), place=_draw(s, F.PLACES))
  elif category == "photo_malfunction":
    out["fault"] = _draw(s, F.FAULTS[shop])
  elif category == "photo_missing_items":
    out["missing"] = _draw(s, F.ACCESSORIES[shop])
  elif category == "photo_installation":
    out["part"] = _draw(s, F.PARTS[shop])
  return out


def _describe(s: Script, category: str) -> tuple[str, list[str]]:
  """The agent's reading of the main photo: (text, fact keys used)."""
  w = s.word
  if category == "photo_damaged_appearance":
    text = s.pick((f"看到了，您收到的{w('p1.colour')}{w('p1.product')}{w('p1.place')}有{w('p1.defect')}，非常抱歉",
                   f"从图片看{w('p1.place')}确实有{w('p1.defect')}，给您添麻烦了",
                   f"您这个{w('p1.product')}{w('p1.place')}的{w('p1.defect')}我看到了，实在抱歉"))
    return text, ["p1.colour", "p1.product", "p1.place", "p1.defect"]
  if category == "photo_malfunction":
    text = s.pick((f"看到了，您这个{w('p1.product')}是{w('p1.fault')}的情况", f"从图片看是{w('p1.fault')}，您别着急",
                   f"您的{w('p1.colour')}{w('p1.product')}{w('p1.fault')}了是吧"))
    return text, ["p1.product", "p1.fault", "p1.colour"]
  if category == "photo_missing_items":
    text = s.pick((f"看了您的图片，确实少了{w('p1.missing')}", f"亲，图片里没有{w('p1.missing')}，是漏发了",
                   f"您是说{w('p1.missing')}没收到对吧"))
    return text, ["p1.missing"]
  text = s.pick((f"您问的是{w('p1.part')}怎么装吧", f"图片上箭头这里是{w('p1.part')}，我跟您说下怎么装",
                 f"{w('p1.part')}的安装是吧，您别急"))
  return text, ["p1.part"]


def _solution(s: Script, category: str) -> tuple[str, str, list[str]]:
  """(solution offered, what is promised, fact keys used)."""
  w = s.word
  if category == "photo_damaged_appearance":
    kind = _SOLUTION_WORD[s.value("p1.defect")]
    if kind == "换新":
      return ("这种情况给您免费换新，您看可以吗？", f"换一台新的{w('p1.product')}", ["p1.defect", "p1.product"])
    return ("这种轻微的情况给您补偿10元，您看可以吗？", "补偿10元", ["p1.defect"])
  if category == "photo_malfunction":
    fix = _FAULT_FIX[s.value("p1.fault")]
    return (fix, f"跟进{w('p1.fault')}的处理", ["p1.fault"])
  if category == "photo_missing_items":
    return (f"马上给您补发{w('p1.missing')}，不用退货", f"补发{w('p1.missing')}", ["p1.missing"])
  return (_PART_HOWTO[s.value("p1.part")], f"发一份{w('p1.part')}的安装视频", ["p1.part"])


def after_sales(s: Script, category: str, sku: Sku, degraded: bool) -> Outcome:
  s.add_image("p1", category, _problem_facts(s, category, sku), degraded)
  s.state("p1.product")  # known from the order's SKU
  w = s.word
  open_edu = opening(s)
  complaint = s.pick(_COMPLAINTS)
  if s.chance(0.3):
    complaint = f"买的{w('p1.product')}，" + complaint
  t, img, query_messages = query(s, "p1", complaint, open_edu, "background" if open_edu is not None else None)
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "p1", img, greeting)
    greeting = None
  if s.chance(0.25):
    s.say(True, *([greeting] if greeting else []), ("稍等，我看一下哦", t, "suspend"))
    greeting = None
  describe, uses = _describe(s, category)
  s.topic = _after_sales_topic(s, category)
  parts = ([greeting] if greeting else []) + [(describe + "，", img, "elaboration", uses)]
  if s.chance(0.5):
    parts.append((s.pick(("给您带来不便非常抱歉，", "实在不好意思，", "这边一定给您处理好，")), t, "social"))
  second = s.chance(P_SECOND_IMAGE)
  if second:
    parts.append((s.pick(("麻烦您提供一下订单截图，我帮您核实", "您把订单页面截图发我看下", "能发一下订单截图吗？")),
                  t, "request"))
  ids = s.say(True, *parts)
  last = ids[-1]
  status_text = ""
  if second:
    s.add_image("o2", "screenshot_product_order",
                {"product": sku.product, "order_status": s.pick(("shipped", "completed", "to_ship"))})
    (ok,) = s.say(False, (s.pick(("好的", "嗯", "好")), last, "suggestion_acceptance"))
    img2 = s.show("o2", ok, picture_relation(s, "o2"))
    status = s.value("o2.order_status")
    status_text = {"shipped": "订单还在配送中，签收后", "completed": "订单已完成，", "to_ship": "订单还没发出，"}[status]
    last = img2
  offer, promised, uses = _solution(s, category)
  sol_parts = [(("看到您的" + status_text if second else "") + offer, last, "solution",
                uses + (["o2.order_status"] if second else []))]
  if s.chance(0.5):
    sol_parts.append((s.pick(("您看这样可以吗？", "您看行吗？", "可以接受吗？")), -1, "yes_no"))
  ids = s.say(True, *sol_parts)
  sol = ids[-1]
  if category in ("photo_damaged_appearance", "photo_missing_items") and s.chance(0.2):
    (rej,) = s.say(False, (s.pick(("不要这个，我要退货", "我想直接退货", "不想换了，退了吧")), sol, "suggestion_rejection"))
    (sol,) = s.say(True, (f"好的，{w('p1.product')}给您办理退货退款，上门取件免运费", rej, "solution", ["p1.product"]))
    promised = "办理退货退款"
  else:
    (acc,) = s.say(False, (s.pick(("好的", "可以", "行吧", "那好吧", "嗯嗯可以")), sol, "suggestion_acceptance"))
    sol = acc
  (promise,) = s.say(True, (s.pick((f"好的，已经为您登记，给您{promised}，1到3天内处理", f"已经帮您提交了，会尽快{promised}",
                                    f"收到，给您{promised}，请留意短信通知")), sol, "promise", uses))
  promise = wrap_up(s, promise, promised, uses)
  closing(s, promise)
  if category == "photo_damaged_appearance":
    problem = f"{w('p1.colour')}{w('p1.product')}{w('p1.place')}有{w('p1.defect')}"
  elif category == "photo_malfunction":
    problem = f"{w('p1.product')}{w('p1.fault')}"
  elif category == "photo_missing_items":
    problem = f"{w('p1.product')}少了{w('p1.missing')}"
  else:
    problem = f"不会安装{w('p1.product')}的{w('p1.part')}"
  summary = s.pick((f"顾客反映{problem}，客服同意{promised}。", f"用户称{problem}，客服核实后承诺{promised}。",
                    f"顾客发图反映{problem}，客服{promised}。"))
  rewrite = f"我买的{problem}，{s.pick(('怎么处理？', '这是怎么回事？', '怎么办？'))}"
  return Outcome(summary, query_messages, not degraded, "" if degraded else rewrite)


# ---------------------------------------------------------------------------
# Pre-sales: consultation, comparison, product page screenshots
# ---------------------------------------------------------------------------

def pre_sales(s: Script, category: str, shop_type: str, catalogue, degraded: bool) -> Outcome:
  product = _draw(s, F.PRODUCTS[shop_type])
  colour = _draw(s, F.COLOURS)
  facts = {"product": product, "colour": colour}
  if category == "photo_recommendation_comparison":
    facts["colour_right"] = _draw(s, F.COLOURS, exclude=(colour,))
  s.add_image("p1", category, facts, degraded)
  w = s.word
  open_edu = opening(s)
  texts = {"photo_purchase_consultation": ("这款有吗？", "这个你们家有卖吗", "同款有没有？", "这个多少钱"),
           "photo_recommendation_comparison": ("这两个哪个好？", "这两款选哪个", "帮我看看这两个哪个好"),
           "screenshot_product": ("这个还有货吗？", "这款现在有货吗", "链接里这个还有吗")}[category]
  text = query_text(s, texts)
  if s.chance(0.2):
    text = f"{w('p1.product')}，" + text
    s.state("p1.product")
  t, img, query_messages = query(s, "p1", text, open_edu, "background" if open_edu is not None else None)
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "p1", img, greeting)
    greeting = None
  sku = find_sku(catalogue, product, colour)
  s.topic = (f"咨询的{w('p1.colour')}{w('p1.product')}", ["p1.colour", "p1.product"])
  attrs = list(sku.attributes)
  a0, a1 = attrs[0], attrs[1]
  if category == "photo_recommendation_comparison":
    right = find_sku(catalogue, product, facts["colour_right"])
    other = right if right.sku != sku.sku else catalogue[product][1]
    answer = (f"左边{w('p1.colour')}的是{sku.brand}的{w('p1.product')}，{a0[0]}{a0[1]}；"
              f"右边{w('p1.colour_right')}的是{other.brand}的，{a0[0]}{other.attribute(a0[0])}，两款都不错")
    uses = ["p1.colour", "p1.colour_right", "p1.product"]
    relation = "recommend"
  else:
    answer = s.pick((f"您看的这款{w('p1.colour')}{w('p1.product')}我们有的，是{sku.brand}的，{a0[0]}是{a0[1]}",
                     f"有的亲，这是{sku.brand}{w('p1.product')}，{w('p1.colour')}现在有货，{a0[0]}{a0[1]}",
                     f"这款{w('p1.product')}有货哦，{w('p1.colour')}的，{a0[0]}{a0[1]}"))
    uses = ["p1.colour", "p1.product"]
    relation = "affirmation"
  ids = s.say(True, *([greeting] if greeting else []), (answer, t, relation, uses))
  (ask,) = s.say(False, (s.pick((f"{a1[0]}是多少？", f"{a1[0]}呢", f"那{a1[0]}怎么样")), ids[-1], "5w1h"))
  (ans,) = s.say(True, (s.pick((f"{a1[0]}是{a1[1]}哦", f"这款{a1[0]}{a1[1]}的", f"{a1[1]}的亲")), ask, "affirmation",
                        ["p1.product"]))
  last, extra = ans, ""
  if s.chance(P_SECOND_IMAGE):
    colour2 = _draw(s, F.COLOURS, exclude=(colour,))
    s.add_image("c2", "photo_purchase_consultation", {"product": product, "colour": colour2})
    (q2,) = s.say(False, (s.pick(("那这个颜色有吗？", "这种颜色的有没有", "还有这个颜色吗")), ans, "yes_no"))
    img2 = s.show("c2", q2, picture_relation(s, "c2"))
    if colour2 in sku.colours:
      (last,) = s.say(True, (f"{w('c2.colour')}的也有货，可以直接拍", img2, "affirmation", ["c2.colour"]))
    else:
      avail = "、".join(F.COLOURS[c][0] for c in sku.colours)
      (last,) = s.say(True, (f"{w('c2.colour')}的暂时没有哦，这款只有{avail}", img2, "deny", ["c2.colour", "p1.product"]))
    extra = f"，询问{w('c2.colour')}是否有货"
  (buy,) = s.say(False, (s.pick(("好的，那我拍了", "行，我下单了", "那我考虑一下", "好的我看看")), last, "feedback"))
  (promise,) = s.say(True, (s.pick((f"好的，{w('p1.product')}拍下后48小时内发货", f"好的亲，{w('p1.product')}下单后尽快给您发出")),
                            buy, "promise", ["p1.product"]))
  promise = wrap_up(s, promise, f"{w('p1.product')}拍下后尽快发货", ["p1.product"])
  closing(s, promise)
  summary = s.pick((f"顾客咨询{w('p1.colour')}{w('p1.product')}，客服介绍了{sku.brand}款的{a0[0]}和{a1[0]}{extra}。",
                    f"用户发图询问{w('p1.colour')}{w('p1.product')}{extra}，客服告知{a0[0]}{a0[1]}、{a1[0]}{a1[1]}。"))
  if category == "photo_recommendation_comparison":
    rewrite = f"{w('p1.colour')}和{w('p1.colour_right')}的{w('p1.product')}哪个好？"
  else:
    rewrite = f"{w('p1.colour')}的{w('p1.product')}有货吗？"
  return Outcome(summary, query_messages, not degraded, "" if degraded else rewrite)


# ---------------------------------------------------------------------------
# Order, logistics and other screenshots
# ---------------------------------------------------------------------------

_STATUS_REPLY = {
    "order_status": {
        "unpaid": ("订单还是待付款状态，付款后才会发货哦", "提醒付款"),
        "to_ship": ("订单是待发货，仓库今天会安排发出", "催促仓库发货"),
        "shipped": ("订单已经发货了，物流在路上", "跟进物流"),
        "completed": ("订单显示已完成，如果没收到我帮您查一下签收人", "核实签收情况"),
    },
    "logistics_status": {
        "picked_up": ("快递刚揽收，还在发往您所在城市", "持续跟进物流"),
        "in_transit": ("快递正在运输途中，预计两三天送到", "催促快递加急"),
        "delivering": ("快递员正在派送，今天就能送到", "联系快递员尽快派送"),
        "delivered": ("显示已经签收了，您看下是不是家人或驿站代收了", "核实签收人"),
        "exception": ("物流显示异常了，我马上帮您联系快递公司核实", "联系快递处理异常"),
    },
    "after_sales_status": {
        "reviewing": ("售后单还在审核中，一般24小时内审核完", "催促审核"),
        "approved": ("售后已经审核通过了，请您尽快寄回商品", "安排上门取件"),
        "rejected": ("售后单被驳回了，是因为缺少商品照片，您补充后重新提交就行", "重新提交售后"),
        "refunded": ("退款已经完成了，原路退回一般1到7个工作日到账", "跟进退款到账"),
    },
    "sms_kind": {
        "pickup_code": ("这是驿站的取件通知，凭取件码去驿站拿快递就行", "确认取件"),
        "refund_notice": ("这是退款到账的通知，钱已经退回您的账户了", "确认退款"),
        "shipping_notice": ("这是发货通知，说明商品已经发出了", "跟进物流"),
        "verification": ("这是验证码短信，请不要告诉任何人哦", "提醒账户安全"),
    },
    "stars": {
        "1": ("看到您给了一星，非常抱歉没让您满意，请问是哪里有问题呢", "回访处理差评"),
        "2": ("看到您给了两星，很抱歉，我们一定改进，方便说下原因吗", "回访处理差评"),
        "3": ("看到您给了三星中评，请问有什么不满意的地方吗", "回访中评"),
        "4": ("感谢您的四星评价，我们会继续努力", "登记评价"),
        "5": ("感谢您的五星好评，返现5元稍后发放", "发放好评返现"),
    },
    "app_error": {
        "payment_failed": ("支付失败请检查银行卡余额，或者换一种支付方式", "协助完成支付"),
        "login_failed": ("无法登录请先清除缓存，再用验证码登录", "协助登录"),
        "blank_page": ("页面空白一般是网络问题，切换一下网络再刷新", "反馈技术排查"),
        "coupon_invalid": ("优惠券不可用是因为没达到使用门槛，凑够金额就能用", "说明优惠券规则"),
    },
    "coupon": {
        "5": ("这张5元优惠券满49元可用", "说明优惠券用法"),
        "10": ("这张10元优惠券满99元可用", "说明优惠券用法"),
        "20": ("这张20元优惠券满199元可用", "说明优惠券用法"),
        "50": ("这张50元优惠券满399元可用", "说明优惠券用法"),
    },
}
_SCREEN_QUERY = {
    "screenshot_product_order": ("我的订单怎么样了", "这个订单什么情况？", "帮我看下这个订单"),
    "photo_user_screen": ("手机上显示这个是什么意思", "我这边显示这样，怎么回事？", "看下这个"),
    "screenshot_logistics_order": ("我的快递怎么还没到", "物流怎么一直这样？", "快递到哪了"),
    "screenshot_after_sales_order": ("我的售后到哪一步了？", "售后怎么样了", "退货进度帮我看下"),
    "screenshot_text_message": ("收到这个短信是什么意思", "这个短信是你们发的吗？", "这条短信怎么回事"),
    "screenshot_user_comment": ("我已经评价了", "评价好了你看下", "这是我的评价"),
    "screenshot_system_software": ("APP一直这样怎么办？", "软件出问题了", "这个怎么弄"),
    "screenshot_other": ("这个券怎么用？", "这个优惠券能用吗", "领了这个券"),
}
_SECOND_SCREEN = {
    "screenshot_product_order": "screenshot_logistics_order",
    "photo_user_screen": "screenshot_logistics_order",
    "screenshot_logistics_order": "screenshot_text_message",
    "screenshot_after_sales_order": "screenshot_text_message",
    "screenshot_text_message": "screenshot_logistics_order",
    "screenshot_user_comment": "screenshot_product_order",
    "screenshot_system_software": "screenshot_other",
    "screenshot_other": "screenshot_product_order",
}


def _screen_facts(s: Script, category: str, sku: Sku) -> dict[str, str]:
  out = {}
  for name in F.IMAGE_FACTS[category]:
    out[name] = sku.product if name == "product" else _draw(s, F.fact_values(name, sku.shop_type))
  return out


def _status_fact(category: str) -> str:
  return [n for n in F.IMAGE_FACTS[category] if n != "product"][0]


def screens(s: Script, category: str, sku: Sku, degraded: bool) -> Outcome:
  s.add_image("s1", category, _screen_facts(s, category, sku), degraded)
  fact = _status_fact(category)
  key = f"s1.{fact}"
  open_edu = opening(s)
  t, img, query_messages = query(s, "s1", query_text(s, _SCREEN_QUERY[category]), open_edu,
                                 "background" if open_edu is not None else None)
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "s1", img, greeting)
    greeting = None
  reply, action = _STATUS_REPLY[fact][s.value(key)]
  s.topic = (_topic(category, F.fact_word(fact, s.value(key))), [key])
  parts = ([greeting] if greeting else []) + [(reply, img, "elaboration", [key])]
  if s.chance(0.4):
    parts.append((s.pick(("您别着急，", "请您放心，", "我这边帮您盯着，")), -1, "feedback"))
  ids = s.say(True, *parts)
  (follow,) = s.say(False, (s.pick(("那怎么办", "好吧，那麻烦你了", "能快点吗？", "然后呢")), ids[-1], "5w1h"))
  (promise,) = s.say(True, (s.pick((f"好的，我这边给您{action}，有进展第一时间通知您", f"没问题，马上为您{action}")),
                            follow, "promise", [key]))
  last, extra = promise, ""
  if s.chance(P_SECOND_IMAGE):
    cat2 = _SECOND_SCREEN[category]
    s.add_image("s2", cat2, _screen_facts(s, cat2, sku))
    fact2 = _status_fact(cat2)
    (q2,) = s.say(False, (s.pick(("还有这个", "对了，这个呢？", "另外这个是什么情况")), promise, "coordinate"))
    img2 = s.show("s2", q2, picture_relation(s, "s2"))
    reply2, _ = _STATUS_REPLY[fact2][s.value(f"s2.{fact2}")]
    (last,) = s.say(True, (reply2, img2, "elaboration", [f"s2.{fact2}"]))
    extra = f"，另咨询{_topic(cat2, F.fact_word(fact2, s.value(f's2.{fact2}')))}"
  last = wrap_up(s, last, f"{action}，有进展会通知您", [key])
  closing(s, last)
  word = F.fact_word(fact, s.value(key))
  topic = _topic(category, word)
  summary = s.pick((f"顾客发截图咨询{topic}，客服解释后承诺{action}{extra}。",
                    f"用户反映{topic}，客服说明情况并{action}{extra}。"))
  rewrite = f"{s.pick(_REWRITE_LEAD[category])}{word}，{s.pick(('怎么回事？', '怎么办？', '什么意思？'))}"
  return Outcome(summary, query_messages, not degraded, "" if degraded else rewrite)


_REWRITE_LEAD = {
    "screenshot_product_order": ("我的订单显示", "订单状态是"),
    "photo_user_screen": ("我手机上订单显示", "订单页面显示"),
    "screenshot_logistics_order": ("我的快递显示", "物流显示"),
    "screenshot_after_sales_order": ("我的售后单显示", "售后进度是"),
    "screenshot_text_message": ("我收到一条", "手机收到了"),
    "screenshot_user_comment": ("我给了", "我的评价是"),
    "screenshot_system_software": ("APP提示", "软件显示"),
    "screenshot_other": ("我领了一张", "我有一张优惠券"),
}

_TOPIC = {
    "screenshot_product_order": "订单{}",
    "photo_user_screen": "订单{}",
    "screenshot_logistics_order": "物流{}",
    "screenshot_after_sales_order": "售后{}",
    "screenshot_text_message": "收到{}短信",
    "screenshot_user_comment": "给了{}评价",
    "screenshot_system_software": "APP{}",
    "screenshot_other": "{}优惠券的用法",
}


def _topic(category: str, word: str) -> str:
  return _TOPIC[category].format(word)
